import { Core, type CoreConfig } from '../dataplane/core.ts';
import { LinuxTun } from '../dataplane/tun/linux-tun.ts';
import { DataplaneWorker } from '../dataplane/worker/dataplane-worker.ts';
import type { NatPolicy } from '../model/nat-policy.ts';
import { AgentError } from './errors.ts';

export interface DataplaneOptions {
  tunName: string;
  core?: Partial<CoreConfig>;
  /** How long a policy swap may wait for the worker to take it. */
  swapTimeoutMs?: number;
}

/**
 * The gateway's packet path: the core (its memory shared with the worker), the TUN queue
 * the main thread opened and hands to the worker, and the worker thread running the
 * loop. Policies are swapped in from the main thread; the worker takes each between two
 * batches (or on its next idle poll, at most one poll timeout later).
 */
export class Dataplane {
  readonly core: Core;
  readonly tun: LinuxTun;
  readonly worker: DataplaneWorker;
  readonly #swapTimeoutMs: number;
  #applied = '';
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(core: Core, tun: LinuxTun, worker: DataplaneWorker, swapTimeoutMs: number) {
    this.core = core;
    this.tun = tun;
    this.worker = worker;
    this.#swapTimeoutMs = swapTimeoutMs;
  }

  static async start(options: DataplaneOptions): Promise<Dataplane> {
    const core = await Core.create({ vnetHdrLen: 10, ...options.core });
    const tun = LinuxTun.open({ name: options.tunName, vnetHdrLen: 10 });
    try {
      const worker = new DataplaneWorker({
        memory: core.memory,
        module: core.module,
        tun: { fd: tun.fd, name: tun.name },
      });
      return new Dataplane(core, tun, worker, options.swapTimeoutMs ?? 2000);
    } catch (error) {
      tun.close();
      throw error;
    }
  }

  /**
   * Makes `policy` the core's policy; resolves once the worker has taken it. Calls are
   * serialised, and a policy equal to the last one is not swapped again.
   */
  setPolicy(policy: NatPolicy): Promise<void> {
    const next = this.#queue.then(() => this.#swap(policy));
    this.#queue = next.catch(() => undefined);
    return next;
  }

  async #swap(policy: NatPolicy): Promise<void> {
    const key = JSON.stringify(policy);
    if (key === this.#applied) return;
    const image = this.core.compile(policy);
    await this.#untilTaken();
    this.core.requestTable(image);
    await this.#untilTaken();
    if (!this.core.tableAccepted()) {
      throw new AgentError('EGW_DATAPLANE_TABLE', 'the core refused the compiled policy table');
    }
    this.#applied = key;
  }

  async #untilTaken(): Promise<void> {
    const deadline = Date.now() + this.#swapTimeoutMs;
    while (this.core.tableSwapPending()) {
      if (Date.now() > deadline) {
        throw new AgentError(
          'EGW_DATAPLANE_STALLED',
          `the dataplane worker took no policy table within ${this.#swapTimeoutMs} ms`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  }

  async stop(): Promise<void> {
    try {
      await this.worker.stop();
    } finally {
      // Only after the worker has stopped: it writes to this descriptor.
      this.tun.close();
    }
  }
}
