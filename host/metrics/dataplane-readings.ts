/**
 * What the agent lets the metrics read from the running dataplane at scrape time. The
 * agent supplies it (cli/ wires the loaded core in); metrics/ never imports the dataplane.
 */

/** SNAT port use of one egress IP. */
export interface EgressPortUse {
  egressIP: string;
  /** Ports currently mapped. */
  inUse: number;
  /** Ports the IP's SNAT range holds (the ratio inUse / rangeSize is the exhaustion risk). */
  rangeSize: number;
}

export interface FlowTableUse {
  /** Connection-tracking entries in use. */
  entries: number;
  /** Connection-tracking entries the table can hold (the core's maxFlows). */
  capacity: number;
  /** SNAT mappings in use. */
  mappings: number;
}

export interface DataplaneReadings {
  /** The core's cumulative counters by name (host/dataplane/counters.ts), e.g. core.counters(). */
  counters(): Record<string, bigint>;
  flowTable(): FlowTableUse;
  portUse(): readonly EgressPortUse[];
}

/**
 * One reading of everything, shared by all the metrics of one scrape so that, say,
 * forwarded packets and bytes come from the same instant. A reading older than
 * `maxAgeMs` is taken again; prom-client calls every metric's `collect` in one pass, so
 * any age well below the scrape interval gives one reading per scrape.
 */
export interface DataplaneSnapshot {
  counters: Record<string, bigint>;
  flowTable: FlowTableUse;
  portUse: readonly EgressPortUse[];
}

export class DataplaneSnapshots {
  #source: DataplaneReadings | null = null;
  #last: { atMs: number; snapshot: DataplaneSnapshot } | null = null;
  readonly #maxAgeMs: number;
  readonly #now: () => number;
  readonly #onError: (err: unknown) => void;

  constructor(opts: { maxAgeMs: number; now: () => number; onError: (err: unknown) => void }) {
    this.#maxAgeMs = opts.maxAgeMs;
    this.#now = opts.now;
    this.#onError = opts.onError;
  }

  /** Starts (or, with null, stops) reading from a dataplane. Forgets the last reading. */
  setSource(source: DataplaneReadings | null): void {
    this.#source = source;
    this.#last = null;
  }

  get attached(): boolean {
    return this.#source !== null;
  }

  /**
   * The current reading, or null when no dataplane is attached or reading it failed
   * (reported through onError: a failed read must not fail the whole scrape).
   */
  read(): DataplaneSnapshot | null {
    const source = this.#source;
    if (source === null) return null;
    const now = this.#now();
    if (this.#last !== null && now - this.#last.atMs < this.#maxAgeMs) return this.#last.snapshot;
    try {
      const snapshot = {
        counters: source.counters(),
        flowTable: source.flowTable(),
        portUse: source.portUse(),
      };
      this.#last = { atMs: now, snapshot };
      return snapshot;
    } catch (err) {
      this.#last = null;
      this.#onError(err);
      return null;
    }
  }
}
