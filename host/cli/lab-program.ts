import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { coreWasmPath } from '../dataplane/core-module.ts';
import { exitCodes, signalExitCode } from './exit-codes.ts';
import type { CommandIO } from './validate.ts';

/**
 * `egressgw bench` and `egressgw demo`: the programs behind `npm run bench` and
 * `npm run demo`, run as a child of the CLI on the same Node binary. They build a
 * cluster out of network namespaces with lab/, so they need root and a source checkout
 * (bench/, demo/, lab/ and the built core); the installed image has none of these.
 *
 * The CLI checks what it can before starting anything (root, the files, a Node that
 * runs TypeScript) so that each missing piece has its own exit code, then passes the
 * child's outcome on: 0, 2 for a usage error the program found itself, 1 for any other
 * failure, 128 + n when a signal ended it (exit-codes.ts).
 *
 * Signals: the child runs in its own process group, so a Ctrl-C at the terminal reaches
 * only the CLI, which passes SIGINT, SIGTERM and SIGHUP on exactly once each. A signal
 * that reached both would be seen twice by the child, and lab/exit-guard.ts treats the
 * second as "stop now" in the middle of removing its namespaces.
 */

export interface LabProgram {
  /** The command's name, for messages: `bench`. */
  name: string;
  /** What the program does, for messages: `the gateway benchmark`. */
  title: string;
  /** The script, relative to the package root: `bench/gateway.bench.ts`. */
  script: string;
  /** Node flags before the script, as the npm script passes them. */
  nodeArgs: readonly string[];
}

/** The same programs as package.json's `bench` and `demo` scripts. */
export const benchProgram: LabProgram = {
  name: 'bench',
  title: 'the gateway benchmark',
  script: 'bench/gateway.bench.ts',
  nodeArgs: [],
};

export const demoProgram: LabProgram = {
  name: 'demo',
  title: 'the demo',
  script: 'demo/run.ts',
  nodeArgs: ['--disable-warning=ExperimentalWarning'],
};

/** Runs a program with these arguments and returns the CLI's exit code. */
export type ProgramRunner = (args: string[]) => Promise<number>;

/** What the runner touches outside itself; tests replace every part. */
export interface LabProgramHost {
  /** The effective user id (undefined where there is none, as on Windows). */
  uid(): number | undefined;
  /** Whether this Node runs .ts files (type stripping): process.features.typescript. */
  runsTypeScript(): boolean;
  exists(path: string): boolean;
  /** Package roots to look in, in order: the source tree's, then dist/'s. */
  roots: readonly string[];
  /** The built core, or an error saying why it is missing (core-module.ts). */
  coreWasm(): string;
  spawn(command: string, args: readonly string[], cwd: string): ChildProcess;
  execPath: string;
  /** Where the CLI receives signals: process. */
  signals: Pick<NodeJS.Process, 'on' | 'off'>;
  io: CommandIO;
}

/** Signals passed on to the child. */
export const forwardedSignals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export function processHost(): LabProgramHost {
  return {
    uid: () => process.getuid?.(),
    runsTypeScript: () => Boolean(process.features.typescript),
    exists: existsSync,
    // host/cli/ is two levels below the root in the source tree, three in dist/.
    roots: ['../../', '../../../'].map((up) => fileURLToPath(new URL(up, import.meta.url))),
    coreWasm: coreWasmPath,
    spawn: (command, args, cwd) =>
      spawn(command, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'], detached: true }),
    execPath: process.execPath,
    signals: process,
    io: process,
  };
}

/** The package root that holds the program's script, or null. */
export function findProgramRoot(program: LabProgram, host: LabProgramHost): string | null {
  return host.roots.find((root) => host.exists(join(root, program.script))) ?? null;
}

/** Checks what the program needs, starts it, and returns the exit code for the CLI. */
export async function runLabProgram(
  program: LabProgram,
  args: readonly string[],
  host: LabProgramHost = processHost(),
): Promise<number> {
  const fail = (code: number, message: string): number => {
    host.io.stderr.write(`egressgw ${program.name}: ${message}\n`);
    return code;
  };
  if (host.uid() !== 0) {
    return fail(
      exitCodes.noPermission,
      `${program.title} builds network namespaces and needs root: run it as root (sudo egressgw ${program.name})`,
    );
  }
  const root = findProgramRoot(program, host);
  if (root === null) {
    const places = host.roots.map((r) => join(r, program.script)).join(', ');
    return fail(
      exitCodes.unavailable,
      `${program.script} is not here (looked for ${places}): ${program.title} runs from a ` +
        'source checkout (./scripts/setup.sh), not from the installed image',
    );
  }
  if (!host.runsTypeScript()) {
    return fail(
      exitCodes.unavailable,
      `${program.script} is TypeScript and this Node (${host.execPath}) cannot run it: use ` +
        `Node 24, as npm does (npx node host/cli/main.ts ${program.name})`,
    );
  }
  try {
    host.coreWasm();
  } catch (error) {
    return fail(exitCodes.unavailable, (error as Error).message);
  }
  return await runChild(program, [...program.nodeArgs, join(root, program.script), ...args], {
    host,
    root,
    fail,
  });
}

function runChild(
  program: LabProgram,
  args: readonly string[],
  context: {
    host: LabProgramHost;
    root: string;
    fail: (code: number, message: string) => number;
  },
): Promise<number> {
  const { host, root, fail } = context;
  return new Promise((resolve) => {
    let child: ChildProcess;
    try {
      child = host.spawn(host.execPath, args, root);
    } catch (error) {
      resolve(fail(exitCodes.unavailable, `cannot start ${host.execPath}: ${errorText(error)}`));
      return;
    }
    const forward = (signal: NodeJS.Signals): void => {
      child.kill(signal);
    };
    for (const signal of forwardedSignals) host.signals.on(signal, forward);
    let settled = false;
    const finish = (code: number): void => {
      if (settled) return;
      settled = true;
      for (const signal of forwardedSignals) host.signals.off(signal, forward);
      resolve(code);
    };
    child.on('error', (error) => {
      // Without a pid, spawning failed (the binary vanished, no memory) and nothing ran.
      // With one, a signal could not be passed on; the program still runs, so wait on.
      if (child.pid === undefined) {
        finish(fail(exitCodes.unavailable, `cannot start ${host.execPath}: ${errorText(error)}`));
      } else {
        host.io.stderr.write(`egressgw ${program.name}: ${errorText(error)}\n`);
      }
    });
    child.once('exit', (code, signal) => {
      if (signal !== null) {
        finish(fail(signalExitCode(signal), `${program.title} was stopped by ${signal}`));
      } else if (code === 0) {
        finish(exitCodes.ok);
      } else if (code === exitCodes.usage) {
        finish(exitCodes.usage);
      } else {
        finish(fail(exitCodes.failure, `${program.title} failed (exit code ${code})`));
      }
    });
  });
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
