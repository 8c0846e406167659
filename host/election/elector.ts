import { EventEmitter } from 'node:events';
import type { EgressGroup } from '../model/egress-state.ts';
import { ElectionError, isLeaseConflict } from './errors.ts';
import type { Heartbeat } from './heartbeat.ts';
import { type HolderLiveness, LeaseFence, type LeaseTimings } from './lease-fence.ts';
import type { LeaseStore } from './lease-store.ts';
import type { LivenessEvent } from './peer-liveness.ts';
import { assignActive, compareCodeUnits, highestWeight } from './rendezvous.ts';

/**
 * Decides, for every gateway group this node is a candidate for, whether this node is
 * the active one, from three inputs:
 *  - the groups and their suitable nodes (the control plane's view: Ready, not cordoned,
 *    agent ready);
 *  - heartbeats: a node they show dead leaves every suitable set at once, long before
 *    Kubernetes marks it NotReady; the groups each live peer says it holds are the
 *    "previous assignment" of the shared choice (rendezvous.ts), so no agent keeps a
 *    private memory that could drift from the others';
 *  - with Kubernetes, one Lease per group (lease-fence.ts): a node announces only while
 *    it holds the group's Lease, and gives the role up at the renew deadline, before the
 *    Lease can expire for anyone else. Without Kubernetes (file mode) there is no Lease:
 *    a node never takes a group that an alive peer claims: with the same view that peer
 *    steps down itself when the choice moves, and with a different view (agents fed
 *    inconsistent files) it keeps serving, which beats two nodes announcing one address.
 *    When two nodes claim one group after a partition heals, the one with the higher
 *    rendezvous weight keeps it, on every node alike.
 *
 * Invariants:
 *  - a group is `active` here only if the last shared choice named this node and, with
 *    Leases, the Lease is held and `now < validUntil`;
 *  - this node stops announcing (the `role` event fires) before it releases a Lease;
 *  - no role is taken during the first `startupGraceMs`, while peers are still unknown;
 *  - with Leases, a node whose store calls fail (an acquire that cannot reach it, or a
 *    role given up at the renew deadline) declares itself ineligible in its heartbeats
 *    until a probe read succeeds, so the shared choice names another node instead of one
 *    that cannot fence;
 *  - a recovered node does not get its groups back (no failback): live claims pin them.
 */

export type Role = 'active' | 'standby';

export interface GroupView {
  key: string;
  role: Role;
  /** The node seen holding the role: this node, or an alive peer that claims it. */
  activeNode: string | null;
  /** The node the shared choice names now. */
  chosenNode: string | null;
  /** When this node's role for the group last changed (monotonic ms). */
  since: number;
}

export type TakeoverReason = 'initial' | 'failover' | 'moved';

export interface TakeoverEvent {
  group: string;
  reason: TakeoverReason;
  previousNode: string | null;
  /** failover only: from the previous holder's last heartbeat to this node taking over. */
  sinceLastHeartbeatMs: number | null;
  at: number;
}

export type StepDownReason =
  | 'not-chosen'
  | 'conflict'
  | 'lease-lost'
  | 'lease-deadline'
  | 'group-removed'
  | 'stopped';

export interface ElectorEvents {
  /** This node's role for a group changed. */
  role: [view: GroupView];
  /** The node seen holding a group changed. */
  'active-node': [group: string, node: string | null];
  takeover: [event: TakeoverEvent];
  'step-down': [event: { group: string; reason: StepDownReason; at: number }];
  /** A Lease operation failed; the elector retries (acquire) or waits for its deadline. */
  'lease-error': [
    event: { group: string; operation: 'acquire' | 'renew' | 'release'; error: unknown },
  ];
  /** Something the elector cannot act on, e.g. claims too large for one heartbeat. */
  error: [error: Error];
}

type HeartbeatView = Pick<
  Heartbeat,
  | 'node'
  | 'incarnation'
  | 'intervalMs'
  | 'deadAfterMs'
  | 'now'
  | 'peer'
  | 'snapshot'
  | 'setClaims'
  | 'setEligible'
  | 'on'
  | 'off'
>;

export interface ElectorOptions {
  heartbeat: HeartbeatView;
  /** Lease fencing; null in file mode. */
  leases: ({ store: LeaseStore } & Partial<LeaseTimings>) | null;
  /** How often deadlines and retries are checked. */
  tickMs?: number;
  /** No role is taken this long after start; defaults to one dead window plus one interval. */
  startupGraceMs?: number;
}

export type ElectedGroup = Pick<EgressGroup, 'key' | 'suitable'>;

interface GroupState {
  role: Role;
  since: number;
  activeNode: string | null;
  chosenNode: string | null;
  /** The last node seen holding the group; the "from" of a failover. */
  lastHolder: string | null;
  op: Promise<void> | null;
  retryAt: number;
}

export class Elector extends EventEmitter<ElectorEvents> {
  readonly node: string;
  private readonly heartbeat: HeartbeatView;
  private readonly fence: LeaseFence | null;
  private readonly tickMs: number;
  private readonly startupGraceMs: number;
  private readonly groups = new Map<string, ElectedGroup>();
  private readonly states = new Map<string, GroupState>();
  private readonly holderLiveness: HolderLiveness;
  private readonly onLiveness = (_event: LivenessEvent): void => {
    for (const state of this.states.values()) state.retryAt = 0;
    this.kick();
  };
  /** With Leases: false while this node cannot reach the store (see invariants). */
  private eligible = true;
  private probe: { at: number; op: Promise<void> | null } = { at: 0, op: null };
  private startedAt: number | null = null;
  private stopped = false;
  private dirty = true;
  private ticker: NodeJS.Timeout | null = null;
  private kickScheduled = false;

  constructor(options: ElectorOptions) {
    super();
    this.heartbeat = options.heartbeat;
    this.node = options.heartbeat.node;
    this.tickMs = options.tickMs ?? 25;
    this.startupGraceMs =
      options.startupGraceMs ?? options.heartbeat.deadAfterMs + options.heartbeat.intervalMs;
    if (!(this.tickMs > 0) || !(this.startupGraceMs >= 0)) {
      throw new ElectionError('EGW_ELECTION_CONFIG', 'elector timings must be positive');
    }
    this.fence =
      options.leases === null
        ? null
        : new LeaseFence({
            ...options.leases,
            node: this.node,
            incarnation: options.heartbeat.incarnation,
            now: options.heartbeat.now,
          });
    this.holderLiveness = {
      aliveIncarnation: (node) => {
        if (node === this.node) return this.heartbeat.incarnation;
        const peer = this.heartbeat.peer(node);
        return peer?.state === 'alive' ? peer.incarnation : null;
      },
      deadSince: (node) => {
        const peer = this.heartbeat.peer(node);
        return peer?.state === 'dead' ? peer.deadSince : null;
      },
    };
  }

  start(): void {
    if (this.startedAt !== null) throw new ElectionError('EGW_ELECTION_CONFIG', 'already started');
    this.startedAt = this.heartbeat.now();
    this.heartbeat.on('liveness', this.onLiveness);
    this.ticker = setInterval(() => this.tick(), this.tickMs);
    this.kick();
  }

  /**
   * Graceful stop: gives up every role (the `role` events fire first), clears the claims
   * and releases the Leases so that the next nodes need not wait. With `graceful: false`
   * the elector only halts, touching neither claims nor Leases, as a crashed agent would.
   */
  async stop(options: { graceful?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.ticker !== null) clearInterval(this.ticker);
    this.heartbeat.off('liveness', this.onLiveness);
    if (options.graceful === false) return;
    const releases: Promise<void>[] = [];
    for (const [key, state] of this.states) {
      if (state.role === 'active') releases.push(this.stepDown(key, 'stopped'));
    }
    await Promise.all(releases);
    await Promise.all([...this.states.values()].map((state) => state.op));
    await this.probe.op;
  }

  /** False while this node cannot reach the Lease store and keeps out of the choice. */
  isEligible(): boolean {
    return this.eligible;
  }

  /** The groups this node is a candidate for, with the nodes suitable now. */
  setGroups(groups: readonly ElectedGroup[]): void {
    const next = new Map<string, ElectedGroup>();
    for (const group of groups) {
      if (next.has(group.key)) {
        throw new ElectionError('EGW_ELECTION_CONFIG', `duplicate group key ${group.key}`);
      }
      next.set(group.key, { key: group.key, suitable: [...new Set(group.suitable)] });
    }
    for (const [key, state] of this.states) {
      if (next.has(key)) continue;
      if (state.role === 'active') void this.stepDown(key, 'group-removed');
      this.states.delete(key);
    }
    this.groups.clear();
    for (const [key, group] of next) this.groups.set(key, group);
    this.kick();
  }

  view(key: string): GroupView | undefined {
    const state = this.states.get(key);
    return state === undefined ? undefined : this.viewOf(key, state);
  }

  views(): GroupView[] {
    return [...this.states.entries()]
      .sort(([a], [b]) => compareCodeUnits(a, b))
      .map(([key, state]) => this.viewOf(key, state));
  }

  private viewOf(key: string, state: GroupState): GroupView {
    return {
      key,
      role: state.role,
      activeNode: state.activeNode,
      chosenNode: state.chosenNode,
      since: state.since,
    };
  }

  private kick(): void {
    this.dirty = true;
    if (this.kickScheduled || this.stopped || this.startedAt === null) return;
    this.kickScheduled = true;
    setImmediate(() => {
      this.kickScheduled = false;
      this.tick();
    });
  }

  private tick(): void {
    if (this.stopped || this.startedAt === null) return;
    const now = this.heartbeat.now();
    try {
      if (this.fence !== null) {
        this.checkLeases(now);
        this.probeStore(now);
      }
      const pending = [...this.states.values()].some(
        (state) => state.role === 'standby' && state.chosenNode === this.node,
      );
      if (this.dirty || pending) {
        this.dirty = false;
        this.reconcile(now);
      }
    } catch (error) {
      this.emit('error', error instanceof Error ? error : new Error(String(error)));
    }
  }

  /** Renews held Leases when due and gives up roles whose Lease is no longer confirmed. */
  private checkLeases(now: number): void {
    const fence = this.fence!;
    for (const [key, state] of this.states) {
      if (state.role !== 'active') continue;
      const validUntil = fence.validUntil(key);
      if (validUntil === null || now >= validUntil) {
        void this.stepDown(key, validUntil === null ? 'lease-lost' : 'lease-deadline');
        continue;
      }
      if (state.op === null && now >= fence.renewDueAt(key)!) {
        state.op = fence
          .renew(key)
          .then(
            (kept) => {
              this.setEligible(true);
              if (!kept && this.states.get(key)?.role === 'active') {
                void this.stepDown(key, 'lease-lost');
              }
            },
            (error: unknown) => {
              // The deadline check above gives the role up if this keeps failing.
              this.emit('lease-error', { group: key, operation: 'renew', error });
            },
          )
          .finally(() => {
            state.op = null;
          });
      }
    }
  }

  private reconcile(now: number): void {
    const alive = new Set<string>(this.eligible ? [this.node] : []);
    const claimants = new Map<string, string[]>();
    const addClaim = (key: string, node: string): void => {
      if (!this.groups.has(key)) return;
      const list = claimants.get(key);
      if (list === undefined) claimants.set(key, [node]);
      else list.push(node);
    };
    for (const peer of this.heartbeat.snapshot().peers) {
      if (peer.state !== 'alive') continue;
      if (peer.eligible) alive.add(peer.node);
      for (const key of peer.claims) addClaim(key, peer.node);
    }
    for (const [key, state] of this.states) {
      if (state.role === 'active') addClaim(key, this.node);
    }

    // Who holds each group now. With Leases the Lease settles double claims, so this
    // node counts itself as the holder of what it holds; without them the claimant with
    // the highest weight keeps the group, on every node alike.
    const holders = new Map<string, string | null>();
    for (const key of this.groups.keys()) {
      const claims = claimants.get(key) ?? [];
      const own = this.fence !== null && this.states.get(key)?.role === 'active';
      holders.set(key, own ? this.node : highestWeight(key, claims));
    }
    const assignment = assignActive(
      [...this.groups.values()].map((group) => ({
        key: group.key,
        suitable: group.suitable.filter((node) => alive.has(node)),
      })),
      holders,
    );

    const graceOver = now >= this.startedAt! + this.startupGraceMs;
    for (const [key] of this.groups) {
      let state = this.states.get(key);
      if (state === undefined) {
        state = {
          role: 'standby',
          since: now,
          activeNode: null,
          chosenNode: null,
          lastHolder: null,
          op: null,
          retryAt: 0,
        };
        this.states.set(key, state);
      }
      const holder = holders.get(key) ?? null;
      if (holder !== null) state.lastHolder = holder;
      state.chosenNode = assignment.get(key) ?? null;
      this.setActiveNode(key, state, holder);

      if (state.role === 'active') {
        if (state.chosenNode !== this.node) {
          const contested = this.fence === null && holder !== this.node;
          void this.stepDown(key, contested ? 'conflict' : 'not-chosen');
        }
        continue;
      }
      if (state.chosenNode !== this.node || !graceOver) continue;
      if (this.fence !== null) {
        this.takeWithLease(key, state, now);
      } else if (!(claimants.get(key) ?? []).some((node) => node !== this.node)) {
        this.becomeActive(key, state, null, now);
      }
    }
  }

  private takeWithLease(key: string, state: GroupState, now: number): void {
    if (state.op !== null || now < state.retryAt) return;
    const fence = this.fence!;
    state.op = fence
      .acquire(key, this.holderLiveness)
      .then(
        async (result) => {
          this.setEligible(true);
          const current = this.states.get(key);
          if (!result.acquired) {
            if (current === state) state.retryAt = result.retryAt;
            return;
          }
          // The choice may have moved on during the round trip; then hand the Lease back.
          if (this.stopped || current !== state || state.chosenNode !== this.node) {
            await fence.release(key);
            return;
          }
          this.becomeActive(key, state, result.previousHolder, this.heartbeat.now());
        },
        (error: unknown) => {
          state.retryAt = this.heartbeat.now() + fence.timings.renewIntervalMs;
          this.setEligible(false);
          this.emit('lease-error', { group: key, operation: 'acquire', error });
        },
      )
      .catch((error: unknown) => {
        this.emit('lease-error', { group: key, operation: 'release', error });
      })
      .finally(() => {
        state.op = null;
        this.kick();
      });
  }

  private becomeActive(
    key: string,
    state: GroupState,
    leaseHolder: string | null,
    now: number,
  ): void {
    const previousNode =
      state.lastHolder !== this.node ? (state.lastHolder ?? leaseHolder) : leaseHolder;
    let reason: TakeoverReason = 'initial';
    let sinceLastHeartbeatMs: number | null = null;
    if (previousNode !== null && previousNode !== this.node) {
      const peer = this.heartbeat.peer(previousNode);
      if (peer?.state === 'dead') {
        reason = 'failover';
        sinceLastHeartbeatMs = peer.lastHeardAt === null ? null : now - peer.lastHeardAt;
      } else {
        reason = 'moved';
      }
    }
    state.role = 'active';
    state.since = now;
    state.lastHolder = this.node;
    this.publishClaims();
    this.emit('role', this.viewOf(key, state));
    this.setActiveNode(key, state, this.node);
    this.emit('takeover', {
      group: key,
      reason,
      previousNode: reason === 'initial' ? null : previousNode,
      sinceLastHeartbeatMs,
      at: now,
    });
  }

  /** Stops announcing first, then hands the Lease back (or forgets one that is lost). */
  private stepDown(key: string, reason: StepDownReason): Promise<void> {
    const state = this.states.get(key);
    if (state === undefined || state.role !== 'active') return Promise.resolve();
    const now = this.heartbeat.now();
    state.role = 'standby';
    state.since = now;
    this.publishClaims();
    this.emit('role', this.viewOf(key, state));
    this.setActiveNode(key, state, null);
    this.emit('step-down', { group: key, reason, at: now });
    this.kick();
    const fence = this.fence;
    if (fence === null) return Promise.resolve();
    if (reason === 'lease-lost' || reason === 'lease-deadline') {
      fence.forget(key);
      if (reason === 'lease-deadline') this.setEligible(false);
      return Promise.resolve();
    }
    return fence.release(key).catch((error: unknown) => {
      if (isLeaseConflict(error)) return;
      this.emit('lease-error', { group: key, operation: 'release', error });
    });
  }

  /** While ineligible, one read every renew interval finds out when the store is back. */
  private probeStore(now: number): void {
    const fence = this.fence!;
    const [key] = this.groups.keys();
    if (this.eligible || this.probe.op !== null || now < this.probe.at || key === undefined) return;
    this.probe.op = fence
      .probe(key)
      .then(
        () => this.setEligible(true),
        () => {
          this.probe.at = this.heartbeat.now() + fence.timings.renewIntervalMs;
        },
      )
      .finally(() => {
        this.probe.op = null;
      });
  }

  private setEligible(eligible: boolean): void {
    if (this.eligible === eligible) return;
    this.eligible = eligible;
    this.probe.at = this.heartbeat.now() + (this.fence?.timings.renewIntervalMs ?? 0);
    this.heartbeat.setEligible(eligible);
    this.kick();
  }

  private setActiveNode(key: string, state: GroupState, node: string | null): void {
    if (state.activeNode === node) return;
    state.activeNode = node;
    this.emit('active-node', key, node);
  }

  private publishClaims(): void {
    const active = [...this.states.entries()]
      .filter(([, state]) => state.role === 'active')
      .map(([key]) => key);
    this.heartbeat.setClaims(active);
  }
}
