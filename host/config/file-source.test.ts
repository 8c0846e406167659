import {
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from './errors.ts';
import { type ConfigSnapshot, FileSource } from './file-source.ts';

const DEBOUNCE_MS = 30;

function gateway(name: string, interfaceName = 'eth1'): string {
  return [
    'apiVersion: network.deckhouse.io/v1alpha1',
    'kind: EgressGateway',
    `metadata: {name: ${name}}`,
    'spec:',
    '  nodeSelector: {}',
    '  sourceIP:',
    '    mode: PrimaryIPFromEgressGatewayNodeInterface',
    `    primaryIPFromEgressGatewayNodeInterface: {interfaceName: ${interfaceName}}`,
    '',
  ].join('\n');
}

const node = [
  'apiVersion: v1',
  'kind: Node',
  'metadata: {name: gw-1}',
  'status: {conditions: [{type: Ready, status: "True"}]}',
  '',
].join('\n');

const names = (snapshot: ConfigSnapshot | null): string[] =>
  (snapshot?.objects ?? []).map((o) => (o.metadata as { name: string }).name);

async function waitFor(what: string, condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Long enough for any watch event and the debounce after it to have run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, DEBOUNCE_MS * 5));

describe('FileSource', () => {
  let directory: string;
  let file: string;
  let snapshots: ConfigSnapshot[];
  let errors: Error[];
  let source: FileSource;

  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), `egw-config-${process.pid}-`));
    file = join(directory, 'egress.yaml');
    snapshots = [];
    errors = [];
    source = new FileSource(file, {
      debounceMs: DEBOUNCE_MS,
      persistent: false,
      onSnapshot: (snapshot) => snapshots.push(snapshot),
      onError: (error) => errors.push(error),
    });
  });

  afterEach(() => {
    source.close();
    rmSync(directory, { recursive: true, force: true });
  });

  /** Replaces the file the way editors save: write a new file, rename it over. */
  function replaceByRename(text: string): void {
    const temporary = join(directory, '.egress.yaml.tmp');
    writeFileSync(temporary, text);
    renameSync(temporary, file);
  }

  it('gives the first snapshot from start() and to onSnapshot', async () => {
    writeFileSync(file, `${gateway('a')}---\n${node}`);
    const first = await source.start();
    expect(first.revision).toBe(1);
    expect(names(first)).toEqual(['a']);
    expect(first.nodes.map((n) => n.name)).toEqual(['gw-1']);
    expect(first.problems).toEqual([]);
    expect(snapshots).toEqual([first]);
    expect(source.snapshot).toBe(first);
  });

  it('emits a new snapshot when the file is written in place', async () => {
    writeFileSync(file, gateway('a'));
    await source.start();
    writeFileSync(file, `${gateway('a')}---\n${gateway('b')}`);
    await waitFor('revision 2', () => snapshots.length === 2);
    expect(snapshots[1]!.revision).toBe(2);
    expect(names(snapshots[1]!)).toEqual(['a', 'b']);
  });

  it('keeps following the file when it is replaced by a rename, again and again', async () => {
    writeFileSync(file, gateway('a'));
    await source.start();
    replaceByRename(gateway('b'));
    await waitFor('revision 2', () => snapshots.length === 2);
    expect(names(snapshots[1]!)).toEqual(['b']);
    replaceByRename(gateway('c'));
    await waitFor('revision 3', () => snapshots.length === 3);
    expect(names(snapshots[2]!)).toEqual(['c']);
    expect(errors).toEqual([]);
  });

  it('follows a ConfigMap volume, which swaps a ..data symlink', async () => {
    // Kubernetes' AtomicWriter layout: egress.yaml -> ..data/egress.yaml, ..data -> ..v1.
    mkdirSync(join(directory, '..v1'));
    writeFileSync(join(directory, '..v1', 'egress.yaml'), gateway('a'));
    symlinkSync('..v1', join(directory, '..data'));
    symlinkSync(join('..data', 'egress.yaml'), file);
    await source.start();
    mkdirSync(join(directory, '..v2'));
    writeFileSync(join(directory, '..v2', 'egress.yaml'), gateway('b'));
    symlinkSync('..v2', join(directory, '..data_tmp'));
    renameSync(join(directory, '..data_tmp'), join(directory, '..data'));
    await waitFor('revision 2', () => snapshots.length === 2);
    expect(names(snapshots[1]!)).toEqual(['b']);
  });

  it('reads a burst of writes once, after it ends', async () => {
    writeFileSync(file, gateway('a'));
    await source.start();
    for (let i = 0; i < 5; i++) writeFileSync(file, gateway(`burst-${i}`));
    await waitFor('revision 2', () => snapshots.length === 2);
    await settle();
    expect(snapshots.map((s) => names(s))).toEqual([['a'], ['burst-4']]);
  });

  it('does not read a file while it is still being written', async () => {
    source.close();
    const patient = new FileSource(file, {
      debounceMs: 200,
      persistent: false,
      onSnapshot: (snapshot) => snapshots.push(snapshot),
      onError: (error) => errors.push(error),
    });
    try {
      writeFileSync(file, gateway('a'));
      await patient.start();
      // Half of a save (cut inside a flow mapping), then the rest 30 ms later.
      const whole = `${gateway('a')}---\n${gateway('b')}`;
      writeFileSync(file, whole.slice(0, whole.indexOf('{name: b') + 4));
      await new Promise((resolve) => setTimeout(resolve, 30));
      writeFileSync(file, whole);
      await waitFor('revision 2', () => snapshots.length === 2);
      expect(names(snapshots[1]!)).toEqual(['a', 'b']);
      expect(errors).toEqual([]);
    } finally {
      patient.close();
    }
  });

  it('keeps the last good snapshot through a broken edit, then recovers', async () => {
    writeFileSync(file, gateway('a'));
    await source.start();
    writeFileSync(file, `${gateway('a')}---\nkind: Broken\nspec:\n  a: b: c\n`);
    await waitFor('the syntax error', () => errors.length === 1);
    const error = errors[0] as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.code).toBe('EGW_CONFIG_SYNTAX');
    expect(error.message).toContain('keeping revision 1');
    expect(error.problems.map((p) => [p.line, p.column, p.reason])).toEqual([
      [12, 6, 'YAMLSyntax'],
    ]);
    expect(source.snapshot?.revision).toBe(1);
    expect(snapshots).toHaveLength(1);

    writeFileSync(file, `${gateway('a')}---\n${gateway('fixed')}`);
    await waitFor('revision 2', () => snapshots.length === 2);
    expect(names(source.snapshot)).toEqual(['a', 'fixed']);
    expect(errors).toHaveLength(1);
  });

  it('keeps the last good snapshot while the file is missing, and reads it when it is back', async () => {
    writeFileSync(file, gateway('a'));
    await source.start();
    unlinkSync(file);
    await waitFor('the missing file', () => errors.length === 1);
    expect((errors[0] as ConfigError).code).toBe('EGW_CONFIG_MISSING');
    expect(source.snapshot?.revision).toBe(1);

    // The same text as before: still a snapshot, since the file came back.
    writeFileSync(file, gateway('a'));
    await waitFor('revision 2', () => snapshots.length === 2);
    expect(names(snapshots[1]!)).toEqual(['a']);
  });

  it('passes invalid egress objects on with their problems, and drops bad cluster objects', async () => {
    writeFileSync(
      file,
      `${gateway('a')}---\n${gateway('bad', '')}---\n${node.replace('gw-1', '')}`,
    );
    const first = await source.start();
    expect(names(first)).toEqual(['a', 'bad']);
    expect(first.nodes).toEqual([]);
    expect(first.problems.map((p) => [p.line, p.object?.name, p.field])).toEqual([
      [17, 'bad', 'spec.sourceIP.primaryIPFromEgressGatewayNodeInterface.interfaceName'],
      [21, null, 'metadata.name'],
    ]);
  });

  it('emits nothing for the same text, and reports the same failure once', async () => {
    writeFileSync(file, gateway('a'));
    await source.start();
    await source.reload();
    expect(snapshots).toHaveLength(1);

    source.close();
    const quiet = new FileSource(file, {
      debounceMs: 10_000,
      persistent: false,
      onSnapshot: (snapshot) => snapshots.push(snapshot),
      onError: (error) => errors.push(error),
    });
    try {
      await quiet.start();
      writeFileSync(file, 'a: [\n');
      await quiet.reload();
      await quiet.reload();
      expect(errors.map((e) => (e as ConfigError).code)).toEqual(['EGW_CONFIG_SYNTAX']);
      unlinkSync(file);
      await quiet.reload();
      await quiet.reload();
      expect(errors.map((e) => (e as ConfigError).code)).toEqual([
        'EGW_CONFIG_SYNTAX',
        'EGW_CONFIG_MISSING',
      ]);
    } finally {
      quiet.close();
    }
  });

  it('fails start() when the first read gives no snapshot', async () => {
    await expect(source.start()).rejects.toMatchObject({ code: 'EGW_CONFIG_MISSING' });

    writeFileSync(file, 'kind: [\n');
    const broken = new FileSource(file, { onSnapshot: () => {}, onError: () => {} });
    await expect(broken.start()).rejects.toMatchObject({
      code: 'EGW_CONFIG_SYNTAX',
      problems: [expect.objectContaining({ line: 2, reason: 'YAMLSyntax' })],
    });

    // A document that is only words hides what it was meant to be: no snapshot either.
    writeFileSync(file, `${gateway('a')}---\nkind EgressGateway name b\n`);
    const words = new FileSource(file, { onSnapshot: () => {}, onError: () => {} });
    await expect(words.start()).rejects.toMatchObject({
      code: 'EGW_CONFIG_SYNTAX',
      problems: [expect.objectContaining({ line: 10, column: 1, reason: 'NotAnObject' })],
    });

    const nowhere = new FileSource(join(directory, 'no-such-dir', 'x.yaml'), {
      onSnapshot: () => {},
      onError: () => {},
    });
    await expect(nowhere.start()).rejects.toMatchObject({ code: 'EGW_CONFIG_MISSING' });
    expect(snapshots).toEqual([]);
  });

  it('stops reading after close()', async () => {
    writeFileSync(file, gateway('a'));
    await source.start();
    source.close();
    writeFileSync(file, gateway('b'));
    await settle();
    await source.reload();
    expect(snapshots).toHaveLength(1);
    expect(errors).toEqual([]);
  });
});
