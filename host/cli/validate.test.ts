import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exitCodes } from './exit-codes.ts';
import { type CommandIO, runValidate, type ValidateOptions } from './validate.ts';

const mistakes = join(import.meta.dirname, '../config/fixtures/mistakes.yaml.txt');
const seed = join(import.meta.dirname, '../api/fixtures/deckhouse-seed.en.yaml');

async function run(options: ValidateOptions) {
  let stdout = '';
  let stderr = '';
  const io: CommandIO = {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
  };
  const code = await runValidate(options, io);
  return { code, stdout, stderr };
}

describe('egressgw validate', () => {
  const directory = mkdtempSync(join(tmpdir(), `egw-cli-validate-${process.pid}-`));
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it('exits 0 and says valid for a clean file', async () => {
    const file = join(directory, 'clean.yaml');
    writeFileSync(
      file,
      [
        'apiVersion: network.deckhouse.io/v1alpha1',
        'kind: EgressGateway',
        'metadata: {name: gw}',
        'spec:',
        '  nodeSelector: {}',
        '  sourceIP: {mode: VirtualIPAddress, virtualIPAddress: {ip: 172.18.18.242}}',
        '',
      ].join('\n'),
    );
    const result = await run({ file });
    expect(result).toEqual({
      code: exitCodes.ok,
      stdout: `${file}: valid (1 object in 1 document)\n`,
      stderr: '',
    });
  });

  it('exits 0 with warnings only', async () => {
    const file = join(directory, 'warning.yaml');
    writeFileSync(file, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n');
    const result = await run({ file });
    expect(result.code).toBe(exitCodes.ok);
    expect(result.stdout).toBe(
      `${file}:1:1: warning: ConfigMap/c v1 ConfigMap is not read by egressgw; skipped\n` +
        `${file}: 0 errors, 1 warning (1 object in 1 document)\n`,
    );
  });

  it('exits 1 and prints every problem with its location, then a summary', async () => {
    const result = await run({ file: mistakes });
    expect(result.code).toBe(exitCodes.failure);
    expect(result.stderr).toBe('');
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines.map((line) => line.slice(mistakes.length).split(' ')[0])).toEqual([
      ':22:7:',
      ':38:11:',
      ':46:22:',
      ':57:7:',
      ':68:3:',
      ':',
    ]);
    expect(lines[2]).toBe(
      `${mistakes}:46:22: EgressGatewayPolicy/lost-policy spec.egressGatewayName: no EgressGateway named no-such-gateway`,
    );
    expect(lines.at(-1)).toBe(`${mistakes}: 5 errors, 0 warnings (6 objects in 7 documents)`);
  });

  it('prints the same problems as JSON with --output json', async () => {
    const result = await run({ file: mistakes, output: 'json' });
    expect(result.code).toBe(exitCodes.failure);
    const report = JSON.parse(result.stdout) as {
      valid: boolean;
      errors: number;
      warnings: number;
      documents: number;
      objects: number;
      problems: { line: number; column: number; reason: string; field: string }[];
    };
    expect(report).toMatchObject({
      file: mistakes,
      valid: false,
      errors: 5,
      warnings: 0,
      documents: 7,
      objects: 6,
    });
    expect(report.problems.map((p) => `${p.line}:${p.column} ${p.reason} ${p.field}`)).toEqual([
      '22:7 InvalidCIDR spec.destinationCIDRs[1]',
      '38:11 InvalidIP spec.sourceIP.virtualIPAddress.ip',
      '46:22 GatewayNotFound spec.egressGatewayName',
      '57:7 InvalidRange spec.ipRanges[1]',
      '68:3 YAMLSyntax ',
    ]);
    expect(report.problems[0]).toMatchObject({
      file: mistakes,
      object: { kind: 'EgressGatewayPolicy', name: 'bad-cidr' },
      severity: 'error',
    });

    const wholeSeed = await run({ file: seed, output: 'json' });
    expect(JSON.parse(wholeSeed.stdout)).toMatchObject({
      errors: 1,
      problems: [{ reason: 'DuplicateName' }],
    });
  });

  it('exits 2 for usage mistakes and unreadable files, on stderr', async () => {
    const cases: [ValidateOptions, string][] = [
      [{}, 'egressgw validate: a file is required (-f FILE)\n'],
      [{ file: '' }, 'egressgw validate: a file is required (-f FILE)\n'],
      [
        { file: mistakes, output: 'yaml' },
        'egressgw validate: --output must be one of text, json, got "yaml"\n',
      ],
      [
        { file: join(directory, 'none.yaml') },
        `egressgw validate: ${join(directory, 'none.yaml')}: no such file\n`,
      ],
      [{ file: directory }, `egressgw validate: ${directory}: not a regular file\n`],
    ];
    for (const [options, message] of cases) {
      const result = await run(options);
      expect(result.code, message).toBe(exitCodes.usage);
      expect(result.stdout, message).toBe('');
      expect(result.stderr.startsWith(message), result.stderr).toBe(true);
    }
  });
});

describe('exitCodes', () => {
  it('keeps the documented values', () => {
    expect(exitCodes).toEqual({ ok: 0, failure: 1, usage: 2, unavailable: 3, noPermission: 4 });
  });
});
