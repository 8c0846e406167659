/**
 * Running commands for the lab: one-shot commands with a timeout, in a namespace or not,
 * and iproute2 batches (one exec for many lines: a 3-gateway lab is ~150 ip commands,
 * which as separate execs would cost seconds).
 */

import { execFile } from 'node:child_process';
import { LabError } from './errors.ts';

export interface RunOptions {
  /** Text written to the command's stdin. */
  input?: string;
  /** Kill the command (SIGKILL) after this long. Default 30 s. */
  timeoutMs?: number;
  /** Resolve instead of throwing when the command exits non-zero. */
  allowFailure?: boolean;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  /** Exit status; null when a signal ended the command (also on timeout). */
  exitCode: number | null;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;

/** Runs argv[0] with the rest as arguments (no shell). Throws EGW_LAB_COMMAND_FAILED. */
export function run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const [file, ...args] = argv;
  if (file === undefined) throw new LabError('EGW_LAB_COMMAND_FAILED', 'empty command');
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      { encoding: 'utf8', maxBuffer: MAX_OUTPUT_BYTES, timeout: timeoutMs, killSignal: 'SIGKILL' },
      (error, stdout, stderr) => {
        if (error === null) {
          resolve({ stdout, stderr, exitCode: 0 });
          return;
        }
        const failure = error as NodeJS.ErrnoException & { code?: unknown; killed?: boolean };
        const exitCode = typeof failure.code === 'number' ? failure.code : null;
        const started = typeof failure.code !== 'string';
        if (options.allowFailure === true && started && failure.killed !== true) {
          resolve({ stdout, stderr, exitCode });
          return;
        }
        const why = failure.killed === true ? `timed out after ${timeoutMs} ms` : error.message;
        const tail = stderr.trim().split('\n').slice(-5).join('\n');
        reject(
          new LabError(
            'EGW_LAB_COMMAND_FAILED',
            `${describeCommand(argv)} failed (${why})${tail === '' ? '' : `: ${tail}`}`,
            { cause: error },
          ),
        );
      },
    );
    child.stdin?.on('error', () => {
      // The command may exit before reading its input (EPIPE); its exit status tells.
    });
    child.stdin?.end(options.input ?? '');
  });
}

/** Runs a command inside a named network namespace (`ip netns exec`). */
export function runInNetns(
  netns: string,
  argv: readonly string[],
  options: RunOptions = {},
): Promise<RunResult> {
  return run(['ip', 'netns', 'exec', netns, ...argv], options);
}

/**
 * Runs iproute2 batch lines in one exec: in `netns` (`ip -n`), or in the root namespace
 * when netns is undefined. ip stops at the first failing line and names it on stderr.
 */
export function ipBatch(
  netns: string | undefined,
  lines: readonly string[],
  options: RunOptions & { json?: boolean; details?: boolean; force?: boolean } = {},
): Promise<RunResult> {
  const argv = ['ip'];
  // -force: run every line even after one fails (the exit status still reports it).
  if (options.force === true) argv.push('-force');
  if (netns !== undefined) argv.push('-n', netns);
  if (options.json === true) argv.push('-j');
  if (options.details === true) argv.push('-d');
  argv.push('-batch', '-');
  return run(argv, { ...options, input: `${lines.join('\n')}\n` });
}

function describeCommand(argv: readonly string[]): string {
  const text = argv.join(' ');
  return text.length > 200 ? `${text.slice(0, 200)}...` : text;
}
