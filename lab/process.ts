/**
 * A long-running command inside a lab namespace (a server, an agent, a probe loop), its
 * output captured line by line.
 *
 * The child runs in its own process group (`detached`), so that a Ctrl-C aimed at the
 * test runner reaches only the runner, whose handlers then tear the lab down in order, and
 * so that kill() can end the whole group, grandchildren included.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { LabError } from './errors.ts';

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

// Keep at most this much output per process: enough for any error report, bounded for
// long benchmark runs.
const MAX_CAPTURED_CHARS = 1024 * 1024;

export class LabProcess {
  readonly name: string;
  readonly netns: string;
  readonly argv: readonly string[];
  readonly pid: number;
  /** Settles when the process has exited, however it ended. */
  readonly exited: Promise<ProcessExit>;

  #child: ChildProcess;
  #captured = '';
  #partial = { stdout: '', stderr: '' };
  #lineListeners = new Set<(line: string, stream: 'stdout' | 'stderr') => void>();
  #exit: ProcessExit | undefined;

  constructor(name: string, netns: string, argv: readonly string[]) {
    this.name = name;
    this.netns = netns;
    this.argv = argv;
    this.#child = spawn('ip', ['netns', 'exec', netns, ...argv], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const spawnError = new Promise<ProcessExit>((resolve) => {
      this.#child.once('error', (error) => {
        this.#capture('stderr', `spawn failed: ${error.message}\n`);
        resolve({ code: null, signal: null });
      });
    });
    this.exited = Promise.race([
      spawnError,
      new Promise<ProcessExit>((resolve) => {
        this.#child.once('close', (code, signal) => resolve({ code, signal }));
      }),
    ]).then((exit) => {
      this.#flush();
      this.#exit = exit;
      return exit;
    });
    this.pid = this.#child.pid ?? -1;
    this.#child.stdout?.setEncoding('utf8').on('data', (text: string) => {
      this.#capture('stdout', text);
    });
    this.#child.stderr?.setEncoding('utf8').on('data', (text: string) => {
      this.#capture('stderr', text);
    });
  }

  get running(): boolean {
    return this.#exit === undefined;
  }

  /** stdout and stderr as they arrived, interleaved (the last MiB). */
  output(): string {
    return this.#captured;
  }

  /** Calls `listener` for every complete line from now on; returns the unsubscribe. */
  onLine(listener: (line: string, stream: 'stdout' | 'stderr') => void): () => void {
    this.#lineListeners.add(listener);
    return () => this.#lineListeners.delete(listener);
  }

  /**
   * Resolves with the first line (from now on) that matches. Throws EGW_LAB_TIMEOUT, or
   * EGW_LAB_COMMAND_FAILED when the process exits first.
   */
  waitForLine(pattern: RegExp, timeoutMs = 10_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        finish();
        reject(this.#failure('EGW_LAB_TIMEOUT', `no line matching ${pattern} in ${timeoutMs} ms`));
      }, timeoutMs);
      const unsubscribe = this.onLine((line) => {
        if (!pattern.test(line)) return;
        finish();
        resolve(line);
      });
      const finish = () => {
        clearTimeout(timer);
        unsubscribe();
      };
      void this.exited.then((exit) => {
        finish();
        reject(
          this.#failure(
            'EGW_LAB_COMMAND_FAILED',
            `exited (code ${exit.code}, signal ${exit.signal}) before a line matching ${pattern}`,
          ),
        );
      });
    });
  }

  /** Signals the whole process group and waits until the process has exited. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<ProcessExit> {
    if (this.running && this.pid > 0) {
      try {
        process.kill(-this.pid, signal);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
      }
    }
    return this.exited;
  }

  /** Synchronous SIGKILL for process 'exit' handlers, which cannot wait. */
  killSync(): void {
    if (!this.running || this.pid <= 0) return;
    try {
      process.kill(-this.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }

  #capture(stream: 'stdout' | 'stderr', text: string): void {
    this.#captured += text;
    if (this.#captured.length > MAX_CAPTURED_CHARS) {
      this.#captured = this.#captured.slice(-MAX_CAPTURED_CHARS);
    }
    const lines = (this.#partial[stream] + text).split('\n');
    this.#partial[stream] = lines.pop() ?? '';
    for (const line of lines) this.#emit(line, stream);
  }

  #flush(): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      const rest = this.#partial[stream];
      this.#partial[stream] = '';
      if (rest !== '') this.#emit(rest, stream);
    }
  }

  #emit(line: string, stream: 'stdout' | 'stderr'): void {
    for (const listener of this.#lineListeners) listener(line, stream);
  }

  #failure(code: 'EGW_LAB_TIMEOUT' | 'EGW_LAB_COMMAND_FAILED', what: string): LabError {
    const tail = this.#captured.trim().split('\n').slice(-10).join('\n');
    return new LabError(
      code,
      `${this.name} (${this.argv.join(' ')}) in ${this.netns}: ${what}${tail === '' ? '' : `; output:\n${tail}`}`,
    );
  }
}
