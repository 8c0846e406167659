/**
 * Writes `status.connections` of the EgressGateways and Egresses whose active node this
 * agent is: how many connections leave through the object's egress IP here, as
 * `egressgw status` and `kubectl get -o yaml` show it.
 *
 * Who writes. Only the active node sees an address's flows, so it writes the count, not
 * the one status writer (kube-status.ts), which may be any agent. All agents apply as one
 * field manager of their own, `egressgw-connections`, beside the status writer's
 * `egressgw`: server-side apply gives each manager its own fields, so the status
 * writer's applies (the complete status it owns) never remove the count, and these never
 * touch the conditions. When an object has no active node, the status writer's agent
 * sets a stored count to 0, so a count does not stay behind a node that died.
 *
 * How often. Coarse on purpose, so that busy gateways do not flood the API server: the
 * counts are read every `intervalMs` (15 s), and an object's count is applied only when
 * it differs from what this agent applied last, or from the cached object after a start
 * or a takeover. So at most one request per object per interval, and none while the
 * count holds still.
 *
 * What is counted is the caller's choice (`byEgressIP`); the agent passes the SNAT ports
 * in use per egress address (the core's port bitmaps, as the egressgw_snat_ports_in_use
 * metric), which the CRD's description of the field states.
 *
 * Failures are logged and retried at the next interval; an object deleted meanwhile is
 * skipped and forgotten.
 */
import type { Logger } from 'pino';
import type { CompileResult, ObjectStatus } from '../control/compile.ts';
import type { ClusterInformers } from '../k8s/cluster-informers.ts';
import { KubeError } from '../k8s/errors.ts';
import type { StatusWriter } from '../k8s/status-writer.ts';

export const CONNECTIONS_FIELD_MANAGER = 'egressgw-connections';

export interface KubeConnectionsOptions {
  informers: Pick<ClusterInformers, 'egressGateways' | 'egresses'>;
  /** A writer applying as CONNECTIONS_FIELD_MANAGER. */
  writer: Pick<StatusWriter, 'applyStatus'>;
  /** This agent's node name. */
  nodeName: string;
  /** Connections per egress address on this node now. */
  byEgressIP: () => ReadonlyMap<string, number>;
  /** Whether this agent is the status writer (it zeroes counts nobody is active for). */
  isStatusWriter: () => boolean;
  log: Pick<Logger, 'warn' | 'debug'>;
  /** How often the counts are read and changed ones written; 15 s. */
  intervalMs?: number;
}

type Translating = Extract<ObjectStatus, { kind: 'EgressGateway' | 'Egress' }>;

interface Applied {
  uid: string | undefined;
  connections: number;
}

export class KubeConnections {
  readonly #options: KubeConnectionsOptions;
  readonly #intervalMs: number;
  /** What this agent applied last, by kind/name. */
  readonly #applied = new Map<string, Applied>();
  #statuses: readonly ObjectStatus[] = [];
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #stopped = false;
  /** Applies sent and failed, for tests and logs. */
  readonly stats = { writes: 0, failures: 0 };

  constructor(options: KubeConnectionsOptions) {
    this.#options = options;
    this.#intervalMs = options.intervalMs ?? 15_000;
  }

  /** Takes the newest statuses (who is active where); starts the interval on the first. */
  observe(result: CompileResult): void {
    this.#statuses = result.statuses;
    if (this.#timer === null && !this.#stopped) {
      this.#timer = setInterval(() => void this.publish(), this.#intervalMs);
      this.#timer.unref();
    }
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /**
   * One pass: reads the counts and applies the changed ones. The interval calls it; a
   * call while a pass runs waits for that pass instead of starting another. Never rejects.
   */
  publish(): Promise<void> {
    this.#running ??= this.#pass().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  async #pass(): Promise<void> {
    const { nodeName, log } = this.#options;
    let counts: ReadonlyMap<string, number>;
    let statusWriter: boolean;
    try {
      counts = this.#options.byEgressIP();
      statusWriter = this.#options.isStatusWriter();
    } catch (error) {
      log.warn({ err: error }, 'connection counts could not be read; trying again later');
      return;
    }
    const present = new Set<string>();
    for (const object of this.#statuses) {
      if (this.#stopped) return;
      if (object.kind !== 'EgressGateway' && object.kind !== 'Egress') continue;
      const id = `${object.kind}/${object.name}`;
      present.add(id);
      const holder = holderOf(object);
      const egressIP = object.status.egressIP;
      let desired: number | null = null;
      if (holder === nodeName && egressIP !== undefined) desired = counts.get(egressIP) ?? 0;
      else if (holder === undefined && statusWriter) desired = 0;
      if (desired !== null) await this.#applyIfChanged(id, object, desired);
    }
    for (const id of [...this.#applied.keys()]) if (!present.has(id)) this.#applied.delete(id);
  }

  async #applyIfChanged(id: string, object: Translating, connections: number): Promise<void> {
    const { informers, log } = this.#options;
    const informer =
      object.kind === 'EgressGateway' ? informers.egressGateways : informers.egresses;
    const cached = informer?.getByName(object.name);
    if (informer === undefined || cached === undefined) {
      this.#applied.delete(id);
      return;
    }
    const uid = cached.metadata?.uid;
    const applied = this.#applied.get(id);
    const stored = (cached.status as { connections?: unknown } | undefined)?.connections;
    const reference = applied !== undefined && applied.uid === uid ? applied.connections : stored;
    // No count stored and nobody active: there is nothing stale to zero.
    if (reference === connections || (reference === undefined && holderOf(object) === undefined)) {
      return;
    }
    try {
      this.stats.writes++;
      await this.#options.writer.applyStatus(informer.kind, object.name, { connections });
      this.#applied.set(id, { uid, connections });
    } catch (error) {
      this.#applied.delete(id);
      if (error instanceof KubeError && error.code === 'EGW_STATUS_TARGET_GONE') {
        log.debug({ object: id }, 'object deleted before its connection count was written');
        return;
      }
      this.stats.failures++;
      log.warn({ err: error, object: id }, 'connection count not written; trying again later');
    }
  }
}

/** The node that holds the object's egress address, if any. */
function holderOf(object: Translating): string | undefined {
  return object.kind === 'EgressGateway' ? object.status.activeNode : object.status.egressNode;
}
