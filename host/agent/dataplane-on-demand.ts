import type { NatPolicy } from '../model/nat-policy.ts';
import { Dataplane, type DataplaneOptions } from './dataplane.ts';
import { AgentError } from './errors.ts';

/**
 * The dataplane, started the first time the node has something to translate. Every node
 * runs the agent (it steers its own pods), but only gateway nodes need the TUN, the
 * core's memory (tens of MiB at the default table size) and the worker thread; a node
 * that never becomes suitable for a gateway never starts them. Once started it runs until
 * the agent stops, with an empty policy while the node has no role: a standby comes and
 * goes with labels and liveness, and restarting the TUN each time would only cost time.
 *
 * The TUN's name must be literal (no `%d`): routing and the interface list need it
 * before the device exists.
 *
 * A start that fails (no /dev/net/tun, no permission) is reported by `setPolicy` and
 * tried again on the next call; `startError` keeps the last failure for readiness.
 */
export class DataplaneOnDemand {
  readonly tunName: string;
  readonly #options: DataplaneOptions;
  readonly #onStart: (dataplane: Dataplane) => void;
  #dataplane: Dataplane | null = null;
  #starting: Promise<Dataplane> | null = null;
  #startError: Error | null = null;
  #stopped = false;

  constructor(options: DataplaneOptions, onStart: (dataplane: Dataplane) => void) {
    if (options.tunName.includes('%')) {
      throw new AgentError(
        'EGW_AGENT_CONFIG',
        `TUN name ${JSON.stringify(options.tunName)} must be literal (no %d pattern)`,
      );
    }
    this.tunName = options.tunName;
    this.#options = options;
    this.#onStart = onStart;
  }

  /** The running dataplane, or null before the node first needed one. */
  get current(): Dataplane | null {
    return this.#dataplane;
  }

  /** The last failed start, cleared by a start that succeeds. */
  get startError(): Error | null {
    return this.#startError;
  }

  /** An empty policy needs no dataplane; anything else starts it first. */
  async setPolicy(policy: NatPolicy): Promise<void> {
    if (this.#dataplane === null && this.#starting === null && policy.egress.length === 0) return;
    const dataplane = await this.#start();
    await dataplane.setPolicy(policy);
  }

  #start(): Promise<Dataplane> {
    if (this.#dataplane !== null) return Promise.resolve(this.#dataplane);
    if (this.#stopped) {
      return Promise.reject(new AgentError('EGW_AGENT_STOPPED', 'the agent is stopping'));
    }
    this.#starting ??= Dataplane.start(this.#options).then(
      (dataplane) => {
        this.#starting = null;
        this.#startError = null;
        this.#dataplane = dataplane;
        this.#onStart(dataplane);
        return dataplane;
      },
      (error: unknown) => {
        this.#starting = null;
        this.#startError = error instanceof Error ? error : new Error(String(error));
        throw error;
      },
    );
    return this.#starting;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    const pending = this.#starting;
    if (pending !== null) await pending.catch(() => undefined);
    await this.#dataplane?.stop();
  }
}
