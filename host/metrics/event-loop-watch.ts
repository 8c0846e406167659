/**
 * Notices a stalled event loop. A timer ticks every `intervalMs`; the delay of each tick
 * past its due time is the time the loop was blocked. The loop counts as stalled while
 * the last tick came late by more than `stallThresholdMs`, or while no tick has come for
 * longer than that (a request served between a long block and the timers phase sees
 * this). A loop blocked for good cannot answer /healthz at all, and the probe's timeout
 * covers that case.
 */
export interface EventLoopState {
  stalled: boolean;
  /** How late the last tick ran, in ms. */
  lastLagMs: number;
  /** The largest lag since the watch started, in ms. */
  maxLagMs: number;
  /** Time since the last tick, in ms. */
  sinceLastTickMs: number;
}

export class EventLoopWatch {
  readonly #intervalMs: number;
  readonly #stallThresholdMs: number;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | null = null;
  #lastTickMs = 0;
  #lastLagMs = 0;
  #maxLagMs = 0;

  constructor(opts: { intervalMs?: number; stallThresholdMs?: number; now?: () => number } = {}) {
    this.#intervalMs = opts.intervalMs ?? 500;
    this.#stallThresholdMs = opts.stallThresholdMs ?? 5_000;
    this.#now = opts.now ?? (() => performance.now());
  }

  start(): void {
    if (this.#timer !== null) return;
    this.#lastTickMs = this.#now();
    this.#timer = setInterval(() => this.#tick(), this.#intervalMs);
    // The watch alone must not keep the process running.
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  state(): EventLoopState {
    const sinceLastTickMs = this.#now() - this.#lastTickMs;
    const overdueMs = sinceLastTickMs - this.#intervalMs;
    return {
      stalled:
        this.#timer !== null &&
        (this.#lastLagMs > this.#stallThresholdMs || overdueMs > this.#stallThresholdMs),
      lastLagMs: round(this.#lastLagMs),
      maxLagMs: round(Math.max(this.#maxLagMs, overdueMs)),
      sinceLastTickMs: round(sinceLastTickMs),
    };
  }

  #tick(): void {
    const now = this.#now();
    this.#lastLagMs = Math.max(0, now - this.#lastTickMs - this.#intervalMs);
    this.#maxLagMs = Math.max(this.#maxLagMs, this.#lastLagMs);
    this.#lastTickMs = now;
  }
}

function round(ms: number): number {
  return Math.round(Math.max(0, ms) * 10) / 10;
}

/** The liveness check of a watch: fails while the loop is stalled, with the figures. */
export function eventLoopCheck(watch: EventLoopWatch): () => {
  ok: boolean;
  message?: string;
  details: Record<string, number>;
} {
  return () => {
    const { stalled, ...details } = watch.state();
    return stalled ? { ok: false, message: 'event loop stalled', details } : { ok: true, details };
  };
}
