import type { CommanderError } from 'commander';
import { afterEach, describe, expect, it } from 'vitest';
import { testCli } from '../../test/support/test-cli.ts';
import { addDemoCommand } from './demo-command.ts';

const cli = () => testCli(addDemoCommand, 3);

afterEach(() => {
  process.exitCode = undefined;
});

describe('egressgw demo', () => {
  it('starts the demo with no arguments and returns its exit code', async () => {
    const { parse, runs } = cli();
    await parse('demo');
    expect(runs).toEqual([[]]);
    expect(process.exitCode).toBe(3);
  });

  it.each([[['demo', '--quick']], [['demo', 'now']]])('rejects %j', async (argv) => {
    const { parse, runs } = cli();
    const error = await parse(...argv).catch((e: unknown) => e);
    expect((error as CommanderError).exitCode).toBe(1);
    expect(runs).toEqual([]);
  });

  it('documents the exit codes in --help', async () => {
    const { parse, output } = cli();
    await parse('demo', '--help').catch(() => undefined);
    expect(output()).toContain('Exit codes: 0 done, 1 the demo failed, 2 bad flags, 3');
  });
});
