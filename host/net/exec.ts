import { spawn } from 'node:child_process';
import { CodedError } from '../model/coded-error.ts';

/**
 * The one way host/net runs a program: argv only (never a shell), optional stdin, a
 * timeout, and a typed error that keeps the exit code and the program's stderr so that
 * callers match on `code` and people read `stderr`.
 */

export type NetErrorCode =
  /** The program ran and exited non-zero (or was killed by a signal). */
  | 'EGW_NET_COMMAND_FAILED'
  /** The program did not finish within its timeout and was killed. */
  | 'EGW_NET_COMMAND_TIMEOUT'
  /** The program could not be started (not installed, not executable). */
  | 'EGW_NET_COMMAND_MISSING'
  /** The program succeeded but printed something that is not the JSON we expect. */
  | 'EGW_NET_BAD_OUTPUT'
  /** A device the plan needs does not exist (the TUN is created by the dataplane). */
  | 'EGW_NET_NO_LINK'
  /** A device with the name we need exists and is someone else's (the tunnel). */
  | 'EGW_NET_LINK_CONFLICT'
  /** No interface holds the address the plan needs (the tunnel's underlay). */
  | 'EGW_NET_NO_ADDRESS'
  /** The role handed to the plan is invalid. */
  | 'EGW_NET_BAD_ROLE'
  /** A sysctl the plan needs does not exist or cannot be written. */
  | 'EGW_NET_SYSCTL';

export class NetError extends CodedError<NetErrorCode> {}

/** A failed command: what ran, how it ended, and what it said on stderr. */
export class NetCommandError extends NetError {
  readonly command: readonly string[];
  /** Exit status, or null when a signal ended it. */
  readonly exitCode: number | null;
  readonly stderr: string;

  constructor(
    code: NetErrorCode,
    command: readonly string[],
    exitCode: number | null,
    stderr: string,
    detail: string,
  ) {
    super(code, `${command.join(' ')}: ${detail}${stderr ? `: ${stderr.trim()}` : ''}`);
    this.name = 'NetCommandError';
    this.command = command;
    this.exitCode = exitCode;
    this.stderr = stderr;
  }
}

export interface ExecOptions {
  /** Written to the program's stdin, which is then closed. */
  input?: string;
  timeoutMs?: number;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
}

/** Runs argv[0] with the rest as arguments; rejects with NetCommandError. */
export type Exec = (argv: readonly string[], options?: ExecOptions) => Promise<ExecResult>;

const DEFAULT_TIMEOUT_MS = 10_000;

export const exec: Exec = (argv, options = {}) =>
  new Promise((resolve, reject) => {
    const [program, ...args] = argv;
    if (program === undefined) {
      reject(new NetCommandError('EGW_NET_COMMAND_MISSING', argv, null, '', 'empty command'));
      return;
    }
    const child = spawn(program, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    // EPIPE when the program exits without reading stdin: the exit status tells the story.
    child.stdin.on('error', () => {});
    child.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const missing = error.code === 'ENOENT' || error.code === 'EACCES';
      reject(
        new NetCommandError(
          missing ? 'EGW_NET_COMMAND_MISSING' : 'EGW_NET_COMMAND_FAILED',
          argv,
          null,
          '',
          error.message,
        ),
      );
    });
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      const err = Buffer.concat(stderr).toString('utf8');
      if (timedOut) {
        reject(
          new NetCommandError(
            'EGW_NET_COMMAND_TIMEOUT',
            argv,
            exitCode,
            err,
            `no answer within ${options.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms`,
          ),
        );
      } else if (exitCode !== 0) {
        const how = signal ? `killed by ${signal}` : `exit status ${exitCode}`;
        reject(new NetCommandError('EGW_NET_COMMAND_FAILED', argv, exitCode, err, how));
      } else {
        resolve({ stdout: Buffer.concat(stdout).toString('utf8'), stderr: err });
      }
    });
    child.stdin.end(options.input ?? '');
  });

/**
 * Where commands run: the caller's network namespace (netns null, production) or a named
 * one (tests, `ip netns add`). Every wrapper in host/net builds its argv from this.
 */
export interface NetContext {
  exec: Exec;
  netns: string | null;
}

/** argv that runs `argv` inside the context's namespace (for tools without `-n`). */
export function inNamespace(context: NetContext, argv: readonly string[]): string[] {
  return context.netns === null ? [...argv] : ['ip', 'netns', 'exec', context.netns, ...argv];
}

/** Parses a command's JSON output; anything else is EGW_NET_BAD_OUTPUT naming the command. */
export function parseJsonOutput(argv: readonly string[], stdout: string): unknown {
  try {
    return JSON.parse(stdout) as unknown;
  } catch (error) {
    throw new NetCommandError(
      'EGW_NET_BAD_OUTPUT',
      argv,
      0,
      '',
      `output is not JSON (${(error as Error).message}): ${stdout.slice(0, 200)}`,
    );
  }
}
