/**
 * Writes what compile() says about each egress object back to the cluster: the status
 * subresource (server-side apply, k8s/status-writer.ts) and Warning events
 * (k8s/event-recorder.ts), after every reconcile.
 *
 * One writer. Every agent compiles the same statuses from the same view, so one of them
 * writing is enough, and N agents writing would multiply the API traffic by N and make
 * lastTransitionTime race. The writer is the agent with the lexicographically smallest
 * name (UTF-16 code units) among the live agents it knows of, itself included: it needs
 * no extra Lease or coordination, and every agent with the same liveness view picks the
 * same one. Views differ only briefly (a peer just died or came up); then two agents may
 * both write for a moment, which is harmless: they apply the same content as the same
 * field manager. The cost of this choice: an agent that heartbeats but cannot reach the
 * API server still counts as the writer, and statuses go stale until it stops being
 * live. Its own status writes fail and are logged there.
 *
 * Only changes are written. Per object (kind/name, and the uid so that a re-created
 * object starts over) the writer remembers the status it last applied, compared as
 * canonical JSON without lastTransitionTime; after a start, or on becoming the writer,
 * the cached object's stored status is the reference instead. Events are recorded once
 * per appearance: an event repeated by the next reconcile is not recorded again; one that
 * goes away and comes back is (the recorder then counts it up on the same Event).
 *
 * Conditions get lastTransitionTime (metav1.Condition): the previous time is kept while
 * the condition's status stays the same, and set to now when it changes or is new; and
 * observedGeneration, the object's metadata.generation as cached.
 *
 * Failures are logged and retried by the next write(), or after `retryMs` if none comes;
 * an object deleted meanwhile is skipped and forgotten.
 *
 * `status.connections` is not this writer's: the active node of each object writes it as
 * a field manager of its own (kube-connections.ts, started here when `connections` is
 * given). Server-side apply keeps the two apart, and the comparison above leaves the
 * field out, so a count never makes this writer apply again.
 */
import type { Logger } from 'pino';
import type { CompileResult, ObjectStatus } from '../control/compile.ts';
import type { StatusEvent } from '../control/conditions.ts';
import type { ClusterInformers } from '../k8s/cluster-informers.ts';
import { KubeError } from '../k8s/errors.ts';
import type { EventRecorder } from '../k8s/event-recorder.ts';
import type { ResilientInformer } from '../k8s/informer.ts';
import { apiVersionOf, type CustomObject } from '../k8s/kinds.ts';
import type { StatusWriter } from '../k8s/status-writer.ts';
import { KubeConnections, type KubeConnectionsOptions } from './kube-connections.ts';

export interface KubeStatusOptions {
  informers: Pick<
    ClusterInformers,
    'egressGateways' | 'egressGatewayPolicies' | 'egresses' | 'externalIPPools'
  >;
  writer: Pick<StatusWriter, 'applyStatus'>;
  events: Pick<EventRecorder, 'record'>;
  /** This agent's node name. */
  nodeName: string;
  /** Names of the agents this one knows to be live (itself may be left out). */
  liveAgents: () => Iterable<string>;
  log: Pick<Logger, 'info' | 'warn' | 'error' | 'debug'>;
  now?: () => Date;
  /** After a failed write, how long to wait for the next reconcile before trying again. */
  retryMs?: number;
  /**
   * Connection counts of the objects this node is active for, written to
   * status.connections (kube-connections.ts); none are written without it.
   */
  connections?: Pick<KubeConnectionsOptions, 'byEgressIP' | 'writer' | 'intervalMs'>;
}

type Fields = Record<string, unknown>;

interface Written {
  uid: string | undefined;
  /** Canonical JSON of the status as compared (comparable()). */
  fingerprint: string;
  /** The conditions as applied, times included. */
  conditions: Fields[];
}

interface Recorded {
  uid: string | undefined;
  events: Set<string>;
}

export class KubeStatus {
  readonly #options: KubeStatusOptions;
  readonly #now: () => Date;
  readonly #retryMs: number;
  readonly #written = new Map<string, Written>();
  readonly #recorded = new Map<string, Recorded>();
  /** Whether this agent wrote on the last pass; null before the first. */
  #writer: boolean | null = null;
  #latest: CompileResult | null = null;
  #lastResult: CompileResult | null = null;
  #run: Promise<void> | null = null;
  #retry: NodeJS.Timeout | null = null;
  #stopped = false;
  /** Status applies and event records sent, for tests and metrics. */
  readonly stats = { statusWrites: 0, statusSkips: 0, events: 0, failures: 0 };
  /** Writes status.connections where this node is active; null without counts. */
  readonly connections: KubeConnections | null;

  constructor(options: KubeStatusOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => new Date());
    this.#retryMs = options.retryMs ?? 10_000;
    this.connections =
      options.connections === undefined
        ? null
        : new KubeConnections({
            ...options.connections,
            informers: options.informers,
            nodeName: options.nodeName,
            isStatusWriter: () => this.isWriter(),
            log: options.log,
          });
  }

  /** True when this agent writes statuses now (see the file comment). */
  isWriter(): boolean {
    const { nodeName } = this.#options;
    for (const name of this.#options.liveAgents()) if (name < nodeName) return false;
    return true;
  }

  /**
   * Writes `result`'s statuses and events. Calls never overlap: one made while a write
   * runs is coalesced with others into one more pass with the newest result. Never
   * rejects.
   */
  write(result: CompileResult): Promise<void> {
    this.connections?.observe(result);
    this.#latest = result;
    if (this.#run === null) this.#run = this.#loop();
    return this.#run;
  }

  stop(): void {
    this.#stopped = true;
    this.connections?.stop();
    if (this.#retry) clearTimeout(this.#retry);
    this.#retry = null;
  }

  async #loop(): Promise<void> {
    // Let write() store this promise before the loop can finish and clear it.
    await null;
    try {
      while (this.#latest !== null && !this.#stopped) {
        const result = this.#latest;
        this.#latest = null;
        this.#lastResult = result;
        if (this.#retry) clearTimeout(this.#retry);
        this.#retry = null;
        let failed: boolean;
        try {
          failed = await this.#writeAll(result);
        } catch (error) {
          // Not a request failure (those are handled per object): a broken liveAgents()
          // or a bug. Logged and retried like a failed write, never thrown at the agent.
          this.#options.log.error({ err: error }, 'writing statuses failed; retrying later');
          failed = true;
        }
        if (failed && !this.#stopped) {
          this.#retry = setTimeout(() => {
            this.#retry = null;
            if (this.#lastResult !== null) void this.write(this.#lastResult);
          }, this.#retryMs);
          this.#retry.unref();
        }
      }
    } finally {
      this.#run = null;
    }
  }

  /** True when something failed. */
  async #writeAll(result: CompileResult): Promise<boolean> {
    const writer = this.isWriter();
    if (writer !== this.#writer) {
      this.#writer = writer;
      this.#options.log.info(
        { nodeName: this.#options.nodeName },
        writer ? 'this agent now writes object statuses' : 'another agent writes object statuses',
      );
      // Another agent may write meanwhile: what this one wrote is no reference any more.
      this.#written.clear();
      this.#recorded.clear();
    }
    if (!writer) return false;
    let failed = false;
    const present = new Set<string>();
    for (const status of result.statuses) {
      const id = `${status.kind}/${status.name}`;
      present.add(id);
      if (!(await this.#writeOne(id, status))) failed = true;
    }
    for (const id of [...this.#written.keys()]) if (!present.has(id)) this.#written.delete(id);
    for (const id of [...this.#recorded.keys()]) if (!present.has(id)) this.#recorded.delete(id);
    return failed;
  }

  #informerOf(kind: ObjectStatus['kind']): ResilientInformer<CustomObject> | undefined {
    const { informers } = this.#options;
    if (kind === 'EgressGateway') return informers.egressGateways;
    if (kind === 'EgressGatewayPolicy') return informers.egressGatewayPolicies;
    if (kind === 'Egress') return informers.egresses;
    return informers.externalIPPools;
  }

  /** True when everything for this object is written (or nothing was needed). */
  async #writeOne(id: string, status: ObjectStatus): Promise<boolean> {
    const { log } = this.#options;
    const informer = this.#informerOf(status.kind);
    const cached = informer?.getByName(status.name);
    if (informer === undefined || cached === undefined) {
      // Deleted since the snapshot was taken (or its API went away): nothing to write to.
      this.#forget(id);
      return true;
    }
    const uid = cached.metadata?.uid;
    const generation = cached.metadata?.generation;
    const desired = withGeneration(status.status as Fields, generation);
    const fingerprint = canonicalJson(comparable(desired));
    let ok = true;

    let written = this.#written.get(id);
    if (written !== undefined && written.uid !== uid) written = undefined;
    if (written === undefined) {
      const stored = (cached.status ?? {}) as Fields;
      if (canonicalJson(comparable(stored)) === fingerprint) {
        this.#written.set(id, { uid, fingerprint, conditions: conditionsOf(stored) });
        written = this.#written.get(id);
      }
    }
    if (written?.fingerprint === fingerprint) {
      this.stats.statusSkips++;
    } else {
      // Our last write is at least as new as the cache; the cache is the reference
      // when there is none.
      const previous = written?.conditions ?? conditionsOf((cached.status ?? {}) as Fields);
      const applied = withTransitionTimes(desired, previous, formatTime(this.#now()));
      try {
        this.stats.statusWrites++;
        await this.#options.writer.applyStatus(informer.kind, status.name, applied);
        this.#written.set(id, { uid, fingerprint, conditions: conditionsOf(applied) });
      } catch (error) {
        if (error instanceof KubeError && error.code === 'EGW_STATUS_TARGET_GONE') {
          log.debug({ object: id }, 'object deleted before its status was written');
          this.#forget(id);
          return true;
        }
        this.stats.failures++;
        this.#written.delete(id);
        log.error({ err: error, object: id }, 'status write failed; retrying later');
        ok = false;
      }
    }

    return (await this.#recordEvents(id, status, informer, uid)) && ok;
  }

  async #recordEvents(
    id: string,
    status: ObjectStatus,
    informer: ResilientInformer<CustomObject>,
    uid: string | undefined,
  ): Promise<boolean> {
    const before = this.#recorded.get(id);
    const seen = before !== undefined && before.uid === uid ? before.events : new Set<string>();
    const now = new Set<string>();
    let ok = true;
    const regarding = {
      apiVersion: apiVersionOf(informer.kind),
      kind: informer.kind.kind,
      name: status.name,
      ...(uid !== undefined ? { uid } : {}),
    };
    for (const event of status.events) {
      const key = eventKey(event);
      if (seen.has(key)) {
        now.add(key);
        continue;
      }
      try {
        this.stats.events++;
        await this.#options.events.record(regarding, event.type, event.reason, event.message);
        now.add(key);
      } catch (error) {
        this.stats.failures++;
        this.#options.log.error(
          { err: error, object: id, reason: event.reason },
          'event write failed; retrying later',
        );
        ok = false;
      }
    }
    this.#recorded.set(id, { uid, events: now });
    return ok;
  }

  #forget(id: string): void {
    this.#written.delete(id);
    this.#recorded.delete(id);
  }
}

function eventKey(event: StatusEvent): string {
  return JSON.stringify([event.type, event.reason, event.message]);
}

function isFields(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function conditionsOf(status: Fields): Fields[] {
  const conditions = status['conditions'];
  return Array.isArray(conditions) ? conditions.filter(isFields) : [];
}

/** Every condition stamped with the generation the status describes. */
function withGeneration(status: Fields, generation: number | undefined): Fields {
  if (generation === undefined || !Array.isArray(status['conditions'])) return status;
  return {
    ...status,
    conditions: conditionsOf(status).map((c) => ({ ...c, observedGeneration: generation })),
  };
}

/**
 * What this writer compares: the status without lastTransitionTime, and without the
 * connection count, which another field manager owns (kube-connections.ts).
 */
function comparable(status: Fields): Fields {
  const { connections: _, ...owned } = status;
  if (!Array.isArray(owned['conditions'])) return owned;
  return {
    ...owned,
    conditions: conditionsOf(owned).map(({ lastTransitionTime: _, ...rest }) => rest),
  };
}

/** metav1.Condition semantics: the time changes only when the status does. */
function withTransitionTimes(status: Fields, previous: readonly Fields[], now: string): Fields {
  if (!Array.isArray(status['conditions'])) return status;
  return {
    ...status,
    conditions: conditionsOf(status).map((condition) => {
      const before = previous.find((p) => p['type'] === condition['type']);
      const time = before?.['lastTransitionTime'];
      const kept =
        before?.['status'] === condition['status'] && typeof time === 'string' ? time : now;
      return { ...condition, lastTransitionTime: kept };
    }),
  };
}

/** metav1.Time is RFC 3339 in whole seconds. */
function formatTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** JSON with object keys sorted: equal values give equal text whatever the key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    isFields(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}
