import { ElectionError, isLeaseConflict } from './errors.ts';
import {
  holderIdentity,
  type LeaseRecord,
  type LeaseSpec,
  type LeaseStore,
  leaseNameFor,
  parseHolderIdentity,
} from './lease-store.ts';

/**
 * Fencing of active roles with one Lease per group.
 *
 * A node takes a group's Lease only when it is free: missing, released, held by an earlier
 * run of a node (this one, or a peer whose heartbeat shows a new incarnation), held by a
 * node that heartbeats have shown dead for at least `fencingMarginMs`, or expired. Expiry
 * is judged the way client-go's leader election does: by how long this node has seen the
 * same resourceVersion on its own monotonic clock, never by comparing renewTime with the
 * local wall clock, so clock skew between nodes cannot shorten a Lease.
 *
 * `validUntil` is `renewDeadlineMs` after the start of the holder's last successful
 * write. Because that is earlier than `leaseDurationMs`, a holder that stops announcing
 * there has stopped before anyone may treat its Lease as expired. The elector decides
 * whether it must (elector.ts, "holding over"): past `validUntil` it keeps a role only
 * while heartbeats show that no peer can take the Lease from it.
 * The heartbeat path is faster and weaker: a holder cut off from its peers but not from
 * the store keeps renewing until its next renew fails on the taker's write, so two nodes
 * may announce for up to `renewIntervalMs` plus one round trip; raise `fencingMarginMs`
 * to trade failover time for less overlap.
 *
 * A node that lost a Lease to another (its renew found a new holder) does not take that
 * group back by the heartbeat path while it still sees the taker dead: when heartbeats
 * between two nodes fail but both reach the API server, each sees the other dead, and
 * without this rule they would take the group from each other every renew interval.
 * It waits for the Lease to expire or be released instead, until heartbeats show the
 * taker alive again.
 */

export interface LeaseTimings {
  /** Written into the Lease (rounded up to seconds); how long others wait on a silent holder. */
  leaseDurationMs: number;
  /** How often the holder renews. */
  renewIntervalMs: number;
  /** After this long without a successful renew the holder gives up the role. */
  renewDeadlineMs: number;
  /** How long heartbeats must have shown the holder dead before its Lease is taken. */
  fencingMarginMs: number;
}

export const leaseDefaults: LeaseTimings = {
  leaseDurationMs: 2000,
  renewIntervalMs: 500,
  renewDeadlineMs: 1500,
  fencingMarginMs: 150,
};

/** What heartbeats know about a Lease holder. */
export interface HolderLiveness {
  /** The incarnation an alive peer heartbeats with now; null when unknown or not alive. */
  aliveIncarnation(node: string): number | null;
  /** Since when the node has been dead per heartbeats; null when it is not known dead. */
  deadSince(node: string): number | null;
}

export interface LeaseFenceOptions extends Partial<LeaseTimings> {
  store: LeaseStore;
  node: string;
  incarnation: number;
  /** Monotonic clock, ms. */
  now: () => number;
  wallClock?: () => Date;
}

export type AcquireResult =
  | { acquired: true; previousHolder: string | null }
  | {
      acquired: false;
      /** The node holding the Lease, or null when another node won a race for a free one. */
      holder: string | null;
      /** When it is worth asking again (monotonic ms). */
      retryAt: number;
    };

interface Held {
  record: LeaseRecord;
  validUntil: number;
  renewedAt: number;
}

interface Observation {
  resourceVersion: string;
  since: number;
}

export class LeaseFence {
  readonly timings: LeaseTimings;
  private readonly store: LeaseStore;
  private readonly node: string;
  private readonly identity: string;
  private readonly now: () => number;
  private readonly wallClock: () => Date;
  private readonly held = new Map<string, Held>();
  private readonly observed = new Map<string, Observation>();
  /** Groups whose Lease another node took from this one (see the class comment). */
  private readonly fencedOut = new Set<string>();

  constructor(options: LeaseFenceOptions) {
    this.timings = {
      leaseDurationMs: options.leaseDurationMs ?? leaseDefaults.leaseDurationMs,
      renewIntervalMs: options.renewIntervalMs ?? leaseDefaults.renewIntervalMs,
      renewDeadlineMs: options.renewDeadlineMs ?? leaseDefaults.renewDeadlineMs,
      fencingMarginMs: options.fencingMarginMs ?? leaseDefaults.fencingMarginMs,
    };
    const t = this.timings;
    if (
      !(t.renewIntervalMs > 0 && t.renewIntervalMs < t.renewDeadlineMs) ||
      !(t.renewDeadlineMs < t.leaseDurationMs) ||
      !(t.fencingMarginMs >= 0)
    ) {
      throw new ElectionError(
        'EGW_ELECTION_CONFIG',
        'lease timings must satisfy 0 < renewInterval < renewDeadline < leaseDuration and margin >= 0',
      );
    }
    this.store = options.store;
    this.node = options.node;
    this.identity = holderIdentity(options.node, options.incarnation);
    this.now = options.now;
    this.wallClock = options.wallClock ?? (() => new Date());
  }

  /** Whether this node holds the group's Lease (as of its last successful write). */
  holds(groupKey: string): boolean {
    return this.held.has(groupKey);
  }

  /** The instant the holder must have stopped announcing unless a renew succeeds first. */
  validUntil(groupKey: string): number | null {
    return this.held.get(groupKey)?.validUntil ?? null;
  }

  /** When the next renew is due; null when not held. */
  renewDueAt(groupKey: string): number | null {
    const held = this.held.get(groupKey);
    return held === undefined ? null : held.renewedAt + this.timings.renewIntervalMs;
  }

  async acquire(groupKey: string, liveness: HolderLiveness): Promise<AcquireResult> {
    const name = leaseNameFor(groupKey);
    const startedAt = this.now();
    const current = await this.store.read(name);
    try {
      if (current === null) {
        return this.took(groupKey, await this.store.create(name, this.spec(null)), null, startedAt);
      }
      const verdict = this.judge(groupKey, current, liveness);
      if (!verdict.free)
        return { acquired: false, holder: verdict.holder, retryAt: verdict.retryAt };
      const record = await this.store.replace(name, this.spec(current), current.resourceVersion);
      return this.took(groupKey, record, verdict.holder, startedAt);
    } catch (error) {
      if (!isLeaseConflict(error)) throw error;
      // Someone else wrote between our read and our write; look again soon.
      return {
        acquired: false,
        holder: null,
        retryAt: this.now() + this.timings.renewIntervalMs / 5,
      };
    }
  }

  /**
   * Renews a held Lease. Resolves false when the Lease was lost (someone else holds it
   * now); throws EGW_LEASE_UNAVAILABLE when the store did not answer, in which case the
   * hold stays valid only until validUntil.
   */
  async renew(groupKey: string): Promise<boolean> {
    const held = this.held.get(groupKey);
    if (held === undefined) return false;
    const startedAt = this.now();
    const name = held.record.name;
    try {
      const record = await this.store.replace(
        name,
        this.spec(held.record),
        held.record.resourceVersion,
      );
      return await this.renewed(groupKey, held, record, startedAt);
    } catch (error) {
      if (!isLeaseConflict(error)) throw error;
    }
    // A conflict on our own Lease: an earlier write of ours may have landed after all
    // (its answer was lost). If the Lease still names this run, carry on from it.
    const current = await this.store.read(name);
    if (current === null || current.holderIdentity !== this.identity) {
      if (this.held.get(groupKey) === held) this.held.delete(groupKey);
      if (current?.holderIdentity) this.fencedOut.add(groupKey);
      return false;
    }
    try {
      const record = await this.store.replace(name, this.spec(current), current.resourceVersion);
      return await this.renewed(groupKey, held, record, startedAt);
    } catch (error) {
      if (!isLeaseConflict(error)) throw error;
      if (this.held.get(groupKey) === held) this.held.delete(groupKey);
      return false;
    }
  }

  /**
   * One read of the group's Lease: resolves when the store answers, whatever it says.
   * It also starts the expiry clock for the version read, so that a standby that reads
   * regularly may take a Lease its holder stopped renewing as soon as it expires rather
   * than a whole duration after its first acquire attempt.
   */
  async observe(groupKey: string): Promise<void> {
    const lease = await this.store.read(leaseNameFor(groupKey));
    if (lease !== null) this.seen(lease, this.now());
  }

  /** Stops counting on the Lease without a write (it was lost, or the store is unreachable). */
  forget(groupKey: string): void {
    this.held.delete(groupKey);
  }

  /** Hands the Lease back (holder cleared) so the next node need not wait for expiry. */
  async release(groupKey: string): Promise<void> {
    const held = this.held.get(groupKey);
    if (held === undefined) return;
    this.held.delete(groupKey);
    await this.clearHolder(held.record);
  }

  /**
   * Writes the holder out of a Lease this run holds. A renew still in flight may land
   * first and move the resourceVersion: then the Lease still names this run and the
   * write is retried on the newer version; once it names another, there is nothing to do.
   */
  private async clearHolder(from: LeaseRecord): Promise<void> {
    let record: LeaseRecord | null = from;
    for (let attempt = 0; attempt < 3 && record !== null; attempt++) {
      if (record.holderIdentity !== this.identity) return;
      const spec: LeaseSpec = { ...recordSpec(record), holderIdentity: null };
      try {
        await this.store.replace(record.name, spec, record.resourceVersion);
        return;
      } catch (error) {
        if (!isLeaseConflict(error)) throw error;
      }
      record = await this.store.read(record.name);
    }
  }

  private judge(
    groupKey: string,
    lease: LeaseRecord,
    liveness: HolderLiveness,
  ): { free: true; holder: string | null } | { free: false; holder: string; retryAt: number } {
    const now = this.now();
    const holder = parseHolderIdentity(lease.holderIdentity);
    if (holder === null) return { free: true, holder: null };
    if (holder.node === this.node) return { free: true, holder: holder.node };
    const alive = liveness.aliveIncarnation(holder.node);
    if (alive !== null) this.fencedOut.delete(groupKey);
    if (alive !== null && holder.incarnation !== null && alive !== holder.incarnation) {
      return { free: true, holder: holder.node };
    }
    const deadSince = this.fencedOut.has(groupKey) ? null : liveness.deadSince(holder.node);
    const fencedAt =
      deadSince === null ? Number.POSITIVE_INFINITY : deadSince + this.timings.fencingMarginMs;
    if (now >= fencedAt) return { free: true, holder: holder.node };

    const seen = this.seen(lease, now);
    const durationMs =
      lease.leaseDurationSeconds !== null && lease.leaseDurationSeconds > 0
        ? lease.leaseDurationSeconds * 1000
        : this.timings.leaseDurationMs;
    const expiresAt = seen.since + durationMs;
    if (now >= expiresAt) return { free: true, holder: holder.node };
    const retryAt = Math.min(fencedAt, expiresAt, now + this.timings.renewIntervalMs);
    return { free: false, holder: holder.node, retryAt };
  }

  /** When this node first saw the Lease at its current resourceVersion (monotonic ms). */
  private seen(lease: LeaseRecord, now: number): Observation {
    let seen = this.observed.get(lease.name);
    if (seen === undefined || seen.resourceVersion !== lease.resourceVersion) {
      seen = { resourceVersion: lease.resourceVersion, since: now };
      this.observed.set(lease.name, seen);
    }
    return seen;
  }

  private spec(current: LeaseRecord | null): LeaseSpec {
    const now = this.wallClock();
    const ours = current !== null && current.holderIdentity === this.identity;
    const hadHolder =
      current !== null && current.holderIdentity !== null && current.holderIdentity !== '';
    return {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.ceil(this.timings.leaseDurationMs / 1000),
      acquireTime: ours ? current.acquireTime : now,
      renewTime: now,
      leaseTransitions: (current?.leaseTransitions ?? 0) + (hadHolder && !ours ? 1 : 0),
    };
  }

  private took(
    groupKey: string,
    record: LeaseRecord,
    previousHolder: string | null,
    startedAt: number,
  ): AcquireResult {
    this.held.set(groupKey, {
      record,
      validUntil: startedAt + this.timings.renewDeadlineMs,
      renewedAt: startedAt,
    });
    this.observed.delete(record.name);
    this.fencedOut.delete(groupKey);
    return { acquired: true, previousHolder };
  }

  private async renewed(
    groupKey: string,
    held: Held,
    record: LeaseRecord,
    startedAt: number,
  ): Promise<boolean> {
    // A release or forget during the round trip wins: the role is already given up, so
    // the renew that landed is handed back rather than left for others to wait out.
    if (this.held.get(groupKey) !== held) {
      await this.clearHolder(record);
      return false;
    }
    held.record = record;
    held.renewedAt = startedAt;
    held.validUntil = startedAt + this.timings.renewDeadlineMs;
    return true;
  }
}

function recordSpec(record: LeaseRecord): LeaseSpec {
  return {
    holderIdentity: record.holderIdentity,
    leaseDurationSeconds: record.leaseDurationSeconds,
    acquireTime: record.acquireTime,
    renewTime: record.renewTime,
    leaseTransitions: record.leaseTransitions,
  };
}
