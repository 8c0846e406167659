import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { exitCodes } from './exit-codes.ts';
import {
  benchProgram,
  demoProgram,
  findProgramRoot,
  forwardedSignals,
  type LabProgramHost,
  processHost,
  runLabProgram,
} from './lab-program.ts';

/** A child that exits when the test says so, and records the signals it was sent. */
class FakeChild extends EventEmitter {
  readonly signals: NodeJS.Signals[] = [];
  kill(signal: NodeJS.Signals): boolean {
    this.signals.push(signal);
    return true;
  }
}

interface Spawned {
  command: string;
  args: readonly string[];
  cwd: string;
  child: FakeChild;
}

function fakeHost(overrides: Partial<LabProgramHost> = {}) {
  const spawned: Spawned[] = [];
  let stderr = '';
  const signals = new EventEmitter();
  const host: LabProgramHost = {
    uid: () => 0,
    runsTypeScript: () => true,
    exists: (path) => path === '/src/bench/gateway.bench.ts' || path === '/src/demo/run.ts',
    roots: ['/src/', '/src/dist/'],
    coreWasm: () => '/src/build/core.wasm',
    spawn: (command, args, cwd) => {
      const child = new FakeChild();
      spawned.push({ command, args, cwd, child });
      return child as unknown as ChildProcess;
    },
    execPath: '/usr/bin/node24',
    signals: signals as unknown as LabProgramHost['signals'],
    io: {
      stdout: { write: () => true },
      stderr: {
        write: (text: string) => {
          stderr += text;
          return true;
        },
      },
    },
    ...overrides,
  };
  return { host, spawned, signals, stderr: () => stderr };
}

/** Starts the program, lets the fake child end as given, returns the exit code. */
async function runUntil(
  end: (child: FakeChild) => void,
  overrides: Partial<LabProgramHost> = {},
): Promise<{ code: number; stderr: string; spawned: Spawned[] }> {
  const fake = fakeHost(overrides);
  const running = runLabProgram(benchProgram, ['--quick'], fake.host);
  await Promise.resolve();
  end(fake.spawned[0]!.child);
  return { code: await running, stderr: fake.stderr(), spawned: fake.spawned };
}

describe('runLabProgram', () => {
  it('starts the program on the same Node with the npm script flags, in the package root', async () => {
    const { code, spawned } = await runUntil((child) => child.emit('exit', 0, null));
    expect(code).toBe(exitCodes.ok);
    expect(spawned).toHaveLength(1);
    expect(spawned[0]).toMatchObject({
      command: '/usr/bin/node24',
      args: ['/src/bench/gateway.bench.ts', '--quick'],
      cwd: '/src/',
    });
  });

  it('passes the demo its Node flags', async () => {
    const fake = fakeHost();
    const running = runLabProgram(demoProgram, [], fake.host);
    await Promise.resolve();
    fake.spawned[0]!.child.emit('exit', 0, null);
    expect(await running).toBe(exitCodes.ok);
    expect(fake.spawned[0]!.args).toEqual([
      '--disable-warning=ExperimentalWarning',
      '/src/demo/run.ts',
    ]);
  });

  it('takes the root that holds the script: dist/ of a checkout', async () => {
    const { host } = fakeHost({ exists: (path) => path === '/src/dist/bench/gateway.bench.ts' });
    expect(findProgramRoot(benchProgram, host)).toBe('/src/dist/');
  });

  it.each([
    ['no user id at all', undefined],
    ['a user other than root', 1000],
  ])('refuses %s with noPermission and starts nothing', async (_, uid) => {
    const fake = fakeHost({ uid: () => uid });
    expect(await runLabProgram(benchProgram, [], fake.host)).toBe(exitCodes.noPermission);
    expect(fake.spawned).toHaveLength(0);
    expect(fake.stderr()).toBe(
      'egressgw bench: the gateway benchmark builds network namespaces and needs root: ' +
        'run it as root (sudo egressgw bench)\n',
    );
  });

  it('says where it looked when the script is not there (the installed image)', async () => {
    const fake = fakeHost({ exists: () => false });
    expect(await runLabProgram(demoProgram, [], fake.host)).toBe(exitCodes.unavailable);
    expect(fake.spawned).toHaveLength(0);
    expect(fake.stderr()).toBe(
      'egressgw demo: demo/run.ts is not here (looked for /src/demo/run.ts, ' +
        '/src/dist/demo/run.ts): the demo runs from a source checkout (./scripts/setup.sh), ' +
        'not from the installed image\n',
    );
  });

  it('needs a Node that runs TypeScript', async () => {
    const fake = fakeHost({ runsTypeScript: () => false });
    expect(await runLabProgram(benchProgram, [], fake.host)).toBe(exitCodes.unavailable);
    expect(fake.spawned).toHaveLength(0);
    expect(fake.stderr()).toMatch(/cannot run it: use Node 24/);
  });

  it('needs the built core, and says how to build it', async () => {
    const fake = fakeHost({
      coreWasm: () => {
        throw new Error('the packet core is not built: run npm run build:core');
      },
    });
    expect(await runLabProgram(benchProgram, [], fake.host)).toBe(exitCodes.unavailable);
    expect(fake.spawned).toHaveLength(0);
    expect(fake.stderr()).toBe(
      'egressgw bench: the packet core is not built: run npm run build:core\n',
    );
  });

  it.each([
    [2, exitCodes.usage, ''],
    [1, exitCodes.failure, 'egressgw bench: the gateway benchmark failed (exit code 1)\n'],
    [7, exitCodes.failure, 'egressgw bench: the gateway benchmark failed (exit code 7)\n'],
  ])('maps exit code %i to %i', async (childCode, expected, message) => {
    const { code, stderr } = await runUntil((child) => child.emit('exit', childCode, null));
    expect(code).toBe(expected);
    expect(stderr).toBe(message);
  });

  it('reports a program a signal ended as 128 + n', async () => {
    const { code, stderr } = await runUntil((child) => child.emit('exit', null, 'SIGTERM'));
    expect(code).toBe(143);
    expect(stderr).toBe('egressgw bench: the gateway benchmark was stopped by SIGTERM\n');
    const interrupted = await runUntil((child) => child.emit('exit', null, 'SIGINT'));
    expect(interrupted.code).toBe(130);
  });

  it('reports a Node that cannot be started as unavailable', async () => {
    const { code, stderr } = await runUntil((child) =>
      child.emit('error', Object.assign(new Error('spawn ENOENT'), { code: 'ENOENT' })),
    );
    expect(code).toBe(exitCodes.unavailable);
    expect(stderr).toBe('egressgw bench: cannot start /usr/bin/node24: spawn ENOENT\n');
    const thrown = fakeHost({
      spawn: () => {
        throw new Error('EAGAIN');
      },
    });
    expect(await runLabProgram(benchProgram, [], thrown.host)).toBe(exitCodes.unavailable);
    expect(thrown.stderr()).toBe('egressgw bench: cannot start /usr/bin/node24: EAGAIN\n');
  });

  it('keeps waiting when a signal cannot be passed on to a running program', async () => {
    const fake = fakeHost();
    const running = runLabProgram(benchProgram, [], fake.host);
    await Promise.resolve();
    const child = fake.spawned[0]!.child as FakeChild & { pid?: number };
    child.pid = 4242;
    child.emit('error', new Error('kill EPERM'));
    child.emit('exit', 0, null);
    expect(await running).toBe(exitCodes.ok);
    expect(fake.stderr()).toBe('egressgw bench: kill EPERM\n');
  });

  it('passes each signal on once while the program runs, and stops listening after', async () => {
    const fake = fakeHost();
    const running = runLabProgram(benchProgram, [], fake.host);
    await Promise.resolve();
    const child = fake.spawned[0]!.child;
    for (const signal of forwardedSignals) {
      expect(fake.signals.listenerCount(signal)).toBe(1);
    }
    fake.signals.emit('SIGINT', 'SIGINT');
    fake.signals.emit('SIGTERM', 'SIGTERM');
    expect(child.signals).toEqual(['SIGINT', 'SIGTERM']);
    child.emit('exit', null, 'SIGTERM');
    expect(await running).toBe(143);
    for (const signal of forwardedSignals) {
      expect(fake.signals.listenerCount(signal)).toBe(0);
    }
  });
});

describe('the programs of this checkout', () => {
  const root = fileURLToPath(new URL('../../', import.meta.url));

  it('are found from the source tree', () => {
    for (const program of [benchProgram, demoProgram]) {
      expect(findProgramRoot(program, processHost())).toBe(root);
    }
  });

  it('are the ones npm run bench and npm run demo start, with the same Node flags', () => {
    const { scripts } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    for (const program of [benchProgram, demoProgram]) {
      expect(scripts[program.name]).toBe(['node', ...program.nodeArgs, program.script].join(' '));
    }
  });
});
