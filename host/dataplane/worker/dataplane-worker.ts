import { Worker } from 'node:worker_threads';
import { createWorkerCounters, readWorkerCounters, type WorkerCounterName } from './counters.ts';
import type { LoopEnd } from './loop.ts';
import { CONTROL_SLOTS, CONTROL_STOP, type StopMessage, type WorkerInit } from './run.ts';

export interface StartWorkerOptions {
  /** The worker's entry module; entry.ts (the compiled core) unless a test says otherwise. */
  entry?: URL;
  /** Aborting it stops the worker (the CLI connects SIGTERM/SIGINT here). */
  signal?: AbortSignal;
}

export class WorkerFailedError extends Error {
  readonly code = 'EGW_WORKER_FAILED';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WorkerFailedError';
  }
}

/** The main thread's handle on one dataplane worker thread. */
export class DataplaneWorker {
  /** Resolves with why the loop ended; rejects with WorkerFailedError if it crashed. */
  readonly ended: Promise<LoopEnd>;
  private readonly worker: Worker;
  private readonly control = new Int32Array(
    new SharedArrayBuffer(CONTROL_SLOTS * Int32Array.BYTES_PER_ELEMENT),
  );
  private readonly sharedCounters = createWorkerCounters();

  constructor(init: Omit<WorkerInit, 'control' | 'counters'>, options: StartWorkerOptions = {}) {
    const workerData: WorkerInit = {
      ...init,
      control: this.control,
      counters: this.sharedCounters,
    };
    this.worker = new Worker(options.entry ?? defaultEntry(), { workerData });
    this.ended = new Promise<LoopEnd>((resolve, reject) => {
      let end: LoopEnd | null = null;
      this.worker.on('message', (message: { type?: string; end?: LoopEnd }) => {
        if (message?.type === 'ended' && message.end) end = message.end;
      });
      this.worker.once('error', (err) =>
        reject(new WorkerFailedError(`dataplane worker failed: ${err.message}`, { cause: err })),
      );
      this.worker.once('exit', (exitCode) => {
        if (end !== null) resolve(end);
        else reject(new WorkerFailedError(`dataplane worker exited (${exitCode}) without ending`));
      });
    });
    // A crash is reported through `ended`; keep it from also being an unhandled rejection.
    this.ended.catch(() => {});
    const signal = options.signal;
    if (signal) {
      if (signal.aborted) this.requestStop();
      else signal.addEventListener('abort', () => this.requestStop(), { once: true });
    }
  }

  /** The loop's counters as of its last batch or idle poll. */
  counters(): Record<WorkerCounterName, number> {
    return readWorkerCounters(this.sharedCounters);
  }

  /** Asks the loop to stop (it checks between batches and at least every poll timeout). */
  stop(): Promise<LoopEnd> {
    this.requestStop();
    return this.ended;
  }

  private requestStop(): void {
    Atomics.store(this.control, CONTROL_STOP, 1);
    const message: StopMessage = { type: 'stop' };
    this.worker.postMessage(message);
  }
}

function defaultEntry(): URL {
  // Source runs as .ts (type stripping), the build as .js: pick the sibling that exists.
  const extension = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  return new URL(`./entry.${extension}`, import.meta.url);
}
