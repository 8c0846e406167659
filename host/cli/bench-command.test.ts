import { CommanderError } from 'commander';
import { afterEach, describe, expect, it } from 'vitest';
import { parseGatewayBenchArgs } from '../../bench/gateway-options.ts';
import { testCli } from '../../test/support/test-cli.ts';
import { addBenchCommand, benchArguments, benchLimits } from './bench-command.ts';

const cli = () => testCli(addBenchCommand, 4);

afterEach(() => {
  process.exitCode = undefined;
});

describe('egressgw bench', () => {
  it('passes no options on by default, and each given option as the benchmark spells it', async () => {
    const { parse, runs } = cli();
    await parse('bench');
    await parse('bench', '--quick', '--seconds', '3', '--pings', '50');
    await parse('bench', '--pings=10000');
    expect(runs).toEqual([
      [],
      ['--quick', '--seconds', '3', '--pings', '50'],
      ['--pings', '10000'],
    ]);
  });

  it("returns the program's exit code", async () => {
    const { parse } = cli();
    await parse('bench', '--quick');
    expect(process.exitCode).toBe(4);
  });

  it.each([
    [['bench', '--seconds']],
    [['bench', '--seconds', '0']],
    [['bench', '--seconds', '1.5']],
    [['bench', '--pings', 'many']],
    [['bench', '--out', '/tmp/results']],
    [['bench', 'extra']],
  ])('rejects %j as a usage error without starting anything', async (argv) => {
    const { parse, runs, output } = cli();
    const error = await parse(...argv).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommanderError);
    // main.ts turns commander's exit code 1 into exitCodes.usage (2).
    expect((error as CommanderError).exitCode).toBe(1);
    expect(runs).toEqual([]);
    expect(output()).toMatch(/^error: /);
  });

  it('accepts exactly the values the benchmark accepts', () => {
    for (const [flag, { min, max }] of Object.entries(benchLimits)) {
      for (const value of [min - 1, min, max, max + 1]) {
        const benchAccepts = (() => {
          try {
            parseGatewayBenchArgs([`--${flag}`, String(value)]);
            return true;
          } catch {
            return false;
          }
        })();
        expect(value >= min && value <= max, `--${flag} ${value}`).toBe(benchAccepts);
      }
    }
  });

  it('builds the arguments from options', () => {
    expect(benchArguments({ quick: false })).toEqual([]);
    expect(benchArguments({ quick: true, seconds: 60 })).toEqual(['--quick', '--seconds', '60']);
  });

  it('documents every option and the exit codes in --help', async () => {
    const { parse, output } = cli();
    const error = await parse('bench', '--help').catch((e: unknown) => e);
    expect((error as CommanderError).exitCode).toBe(0);
    for (const flag of ['--quick', '--seconds <n>', '--pings <n>'])
      expect(output()).toContain(flag);
    expect(output()).toContain('Exit codes: 0 done, 1 the benchmark failed, 2 bad flags, 3');
  });
});
