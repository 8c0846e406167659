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
 *  - with Kubernetes, one Lease per group (lease-fence.ts): a node takes a role only once
 *    it holds the group's Lease, and keeps it past the renew deadline only as described
 *    under "holding over". Without Kubernetes (file mode) there is no Lease: a node never
 *    takes a group that an alive peer claims: with the same view that peer steps down
 *    itself when the choice moves, and with a different view (agents fed inconsistent
 *    files) it keeps serving, which beats two nodes announcing one address.
 *    When two nodes claim one group after a partition heals, the one with the higher
 *    rendezvous weight keeps it, on every node alike.
 *
 * Holding over (issue #4: "when the API server is unreachable, the dataplane keeps the
 * last known state"). The Lease exists to stop two nodes announcing one VIP when
 * heartbeats cannot be trusted. A holder that gave its roles up at the renew deadline
 * whenever it could not renew would turn an API server outage of more than 1.5 s into an
 * outage of all egress, although nobody else can take a Lease then either. So past the
 * deadline the holder asks instead whether any peer could take the Lease from it. A peer
 * takes a group only when its own shared choice names it, and it writes the Lease only
 * if it reaches the store: after the Lease expired on its clock, or after heartbeats
 * showed the holder dead for the fencing margin. A holder that heartbeats show alive and
 * claiming pins its group in every peer's choice (below), so what remains is:
 *  1. a peer already claims the group: it holds the Lease, or believes it does. Step
 *     down at once ('conflict');
 *  2. a peer may no longer hear this node, and may take the Lease by the heartbeat path.
 *     The witnesses of a group are its suitable peers that were alive at the holder's
 *     last confirmed write of the Lease: while the store answered, none of them took the
 *     Lease, so each is either reachable or harmless. If a witness goes silent, or its
 *     heartbeats' view no longer shows this node alive, this node may be the one cut off:
 *     step down ('cut-off'). The bound: a peer that stops hearing this node at t marks
 *     it dead at t + deadAfterMs (+ one sweep), sends that view at once (heartbeat.ts),
 *     and takes the Lease no earlier than fencingMarginMs after t + deadAfterMs; the
 *     holder acts on the view within one tick. With the defaults (150 ms margin, 25 ms
 *     sweep and tick) the holder has stopped some 100 ms before the peer may write
 *     (elector-holdover.test.ts measures 124-189 ms over six timer phases).
 *     Rules 1 and 2 also apply before the deadline once the Lease is in doubt (the last
 *     store call failed, or a renew is overdue): a cut of this node's link silences
 *     every witness within one dead window, and the node steps down then instead of at
 *     its deadline, while the peers take over by the heartbeat path as after a crash;
 *  3. a peer reaches the store while this node cannot (only this node is cut off from
 *     the API server): the Lease will expire for that peer, and the role belongs on a
 *     node that can fence. Step down ('handover'), but only once (a) the deadline plus
 *     `handoverGraceMs` has passed, by which time a peer that lost the store together
 *     with this node has stopped saying it reaches it (eligibility below lapses after
 *     renewDeadline - renewInterval, which is no later than this node's deadline), and
 *     (b) one of this node's own store calls, started after the peer was seen to reach
 *     the store, failed: when the API server comes back the peers' probes and this
 *     node's renew race, and a renew that succeeds ends the holdover without a move.
 *     A renew that hangs rather than fails counts once the client gives up on it (its
 *     request timeout); until then the peers, which see this node alive and claiming,
 *     leave the group alone.
 *  Otherwise the node keeps the role: during an outage of the API server for everyone
 *  (every witness alive, hearing it, none reaching the store), and when it has no
 *  witness at all (no other suitable node: nobody could take over anyway). Its renews
 *  go on every renewInterval; the first that succeeds ends the holdover with the same
 *  Lease, holder and role, so the return of the API server moves nothing.
 *  Price of the rule: if a witness crashes during an outage, the holder cannot tell that
 *  from a partition and steps down, and nobody can take over until the store returns.
 *
 * Eligibility (the FLAG_INELIGIBLE bit of heartbeats) means, with Leases, "this node's
 * store calls succeed": it holds while the last store call answered and started less than
 * renewDeadline - renewInterval ago. A standby that has no other store call reads one of
 * its groups' Leases every renewInterval to keep it fresh (which also starts its expiry
 * clock for those Leases, lease-fence.ts): two GETs a second per standby node, the rate
 * at which a holder writes each Lease it holds. Only eligible nodes can be named for a group
 * that has no live holder, since only they can write its Lease; eligibility never takes
 * a group from its alive holder, so an outage of the store for every node, which makes
 * every node ineligible, moves no role.
 *
 * Invariants:
 *  - a group is `active` here only if the last shared choice named this node and, with
 *    Leases, the Lease is held and either `now < validUntil` or the node is holding over
 *    under the three rules above;
 *  - this node stops announcing (the `role` event fires) before it releases a Lease;
 *  - no role is taken during the first `startupGraceMs`, while peers are still unknown;
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
  /** The Lease cannot be renewed, and a witness may no longer hear this node (rule 2). */
  | 'cut-off'
  /** Past the renew deadline, and a peer reaches the store while this node cannot (rule 3). */
  | 'handover'
  | 'group-removed'
  | 'stopped';

export interface ElectorEvents {
  /** This node's role for a group changed. */
  role: [view: GroupView];
  /** The node seen holding a group changed. */
  'active-node': [group: string, node: string | null];
  takeover: [event: TakeoverEvent];
  'step-down': [event: { group: string; reason: StepDownReason; at: number }];
  /**
   * An active role went past its renew deadline and is kept (`holding: true`), or that
   * ended: a renew succeeded, or the role was given up (`holding: false`).
   */
  'lease-holdover': [event: { group: string; holding: boolean; at: number }];
  /** A Lease operation failed; the elector retries (acquire) or waits for its deadline. */
  'lease-error': [
    event: { group: string; operation: 'acquire' | 'renew' | 'release'; error: unknown },
  ];
  /** Something the elector cannot act on, e.g. claims too large for one heartbeat. */
  error: [error: Error];
}

/** What the elector uses of a Heartbeat (sim-network.ts stands in for it in tests). */
export type HeartbeatView = Pick<
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
> & {
  on(event: 'liveness', listener: (event: LivenessEvent) => void): unknown;
  off(event: 'liveness', listener: (event: LivenessEvent) => void): unknown;
};

export interface ElectorOptions {
  heartbeat: HeartbeatView;
  /** Lease fencing; null in file mode. */
  leases: ({ store: LeaseStore } & Partial<LeaseTimings>) | null;
  /** How often deadlines and retries are checked. */
  tickMs?: number;
  /** No role is taken this long after start; defaults to one dead window plus one interval. */
  startupGraceMs?: number;
  /**
   * How long past the renew deadline a holder waits before it hands a role over to a peer
   * that reaches the store (rule 3); defaults to one heartbeat interval plus two ticks,
   * the time a peer's lapsed eligibility takes to arrive here.
   */
  handoverGraceMs?: number;
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
  /** Standby: when to try the Lease again. Active: when to retry a renew that failed. */
  retryAt: number;
  /** Active with Leases: the suitable peers alive at the last confirmed write (rule 2). */
  witnesses: string[];
  /** Active with Leases: when the renew in flight started; null when none is. */
  renewStartedAt: number | null;
  /** Active past the renew deadline, kept under the holdover rules. */
  holdingOver: boolean;
}

export class Elector extends EventEmitter<ElectorEvents> {
  readonly node: string;
  private readonly heartbeat: HeartbeatView;
  private readonly fence: LeaseFence | null;
  private readonly tickMs: number;
  private readonly startupGraceMs: number;
  private readonly handoverGraceMs: number;
  private readonly groups = new Map<string, ElectedGroup>();
  private readonly states = new Map<string, GroupState>();
  private readonly holderLiveness: HolderLiveness;
  private readonly onLiveness = (_event: LivenessEvent): void => {
    // News about peers may free a Lease a standby waits for; renew retries keep their pace.
    for (const state of this.states.values()) if (state.role === 'standby') state.retryAt = 0;
    this.kick();
  };
  /** With Leases: whether this node's store calls succeed now (see "Eligibility"). */
  private eligible: boolean;
  /** Start of the last store call that was answered; null after one that was not. */
  private storeAnsweredAt: number | null = null;
  /** Start of the last store call that was not answered. */
  private storeFailedAt: number | null = null;
  /** Since when each alive peer has said it reaches the store (rule 3). */
  private readonly peerEligibleSince = new Map<string, number>();
  private probe: { at: number; op: Promise<void> | null; next: number } = {
    at: 0,
    op: null,
    next: 0,
  };
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
    this.handoverGraceMs =
      options.handoverGraceMs ?? options.heartbeat.intervalMs + 2 * this.tickMs;
    if (!(this.tickMs > 0) || !(this.startupGraceMs >= 0) || !(this.handoverGraceMs >= 0)) {
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
    // With Leases a node is eligible only once the store has answered it.
    this.eligible = this.fence === null;
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
    this.heartbeat.setEligible(this.eligible);
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

  /** False while this node's Lease store calls fail: it is named for no new role. */
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
        this.updateEligibility(now);
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

  /**
   * Renews held Leases when due; past the renew deadline keeps a role only under the
   * holdover rules (header comment).
   */
  private checkLeases(now: number): void {
    const fence = this.fence!;
    for (const [key, state] of this.states) {
      if (state.role !== 'active') continue;
      const validUntil = fence.validUntil(key);
      if (validUntil === null) {
        void this.stepDown(key, 'lease-lost');
        continue;
      }
      if (now >= validUntil || this.inDoubt(state, now)) {
        const reason = this.holdoverVerdict(key, state, now, validUntil);
        if (reason !== null) {
          void this.stepDown(key, reason);
          continue;
        }
      }
      this.setHoldingOver(key, state, now >= validUntil, now);
      if (state.op === null && now >= fence.renewDueAt(key)! && now >= state.retryAt) {
        this.renew(key, state, now);
      }
    }
  }

  /**
   * Before the deadline, whether the Lease may already be lost: the last store call
   * failed, or the renew in flight is overdue by half an interval (a request to an
   * unreachable API server may hang rather than fail). Rules 1 and 2 then apply at once,
   * which shortens the time two nodes announce after this node is cut off; they cannot
   * take a role from a node whose store answers.
   */
  private inDoubt(state: GroupState, now: number): boolean {
    if (this.storeAnsweredAt === null) return true;
    const half = this.fence!.timings.renewIntervalMs / 2;
    return state.renewStartedAt !== null && now - state.renewStartedAt > half;
  }

  private renew(key: string, state: GroupState, startedAt: number): void {
    const fence = this.fence!;
    const witnesses = this.alivePeersOf(key);
    state.renewStartedAt = startedAt;
    state.op = fence
      .renew(key)
      .then(
        (kept) => {
          this.storeCall(startedAt, true);
          if (this.states.get(key) !== state || state.role !== 'active') return;
          if (!kept) {
            void this.stepDown(key, 'lease-lost');
            return;
          }
          state.witnesses = witnesses;
          this.setHoldingOver(key, state, false, this.heartbeat.now());
        },
        (error: unknown) => {
          // Until the deadline the hold stands; past it the holdover rules decide.
          this.storeCall(startedAt, false);
          state.retryAt = startedAt + fence.timings.renewIntervalMs;
          this.emit('lease-error', { group: key, operation: 'renew', error });
        },
      )
      .finally(() => {
        state.op = null;
        state.renewStartedAt = null;
      });
  }

  /** Why a role whose Lease is unconfirmed must be given up now, or null to keep it. */
  private holdoverVerdict(
    key: string,
    state: GroupState,
    now: number,
    validUntil: number,
  ): StepDownReason | null {
    const peers = this.heartbeat.snapshot().peers;
    // Rule 1: a peer claims the group.
    if (peers.some((peer) => peer.state === 'alive' && peer.claims.includes(key))) {
      return 'conflict';
    }
    // Rule 2: every witness is alive and hears this node.
    for (const witness of state.witnesses) {
      const peer = peers.find((p) => p.node === witness);
      if (peer?.state !== 'alive') return 'cut-off';
      const seen = peer.view.find((v) => v.node === this.node);
      if (seen?.state !== 'alive') return 'cut-off';
    }
    // Rule 3: a suitable peer reaches the store, and this node still cannot.
    if (now < validUntil + this.handoverGraceMs || this.storeFailedAt === null) return null;
    const suitable = this.groups.get(key)?.suitable ?? [];
    for (const node of suitable) {
      const since = this.peerEligibleSince.get(node);
      if (node !== this.node && since !== undefined && since < this.storeFailedAt) {
        return 'handover';
      }
    }
    return null;
  }

  private setHoldingOver(key: string, state: GroupState, holding: boolean, now: number): void {
    if (state.holdingOver === holding) return;
    state.holdingOver = holding;
    this.emit('lease-holdover', { group: key, holding, at: now });
  }

  /** The group's suitable peers that heartbeats show alive now. */
  private alivePeersOf(key: string): string[] {
    const suitable = this.groups.get(key)?.suitable ?? [];
    return suitable.filter(
      (node) => node !== this.node && this.heartbeat.peer(node)?.state === 'alive',
    );
  }

  private reconcile(now: number): void {
    const alive = new Set<string>([this.node]);
    const eligible = new Set<string>(this.eligible ? [this.node] : []);
    const claimants = new Map<string, string[]>();
    // Roles peers hold in groups this node does not elect for: the spreading must count
    // them like every other agent does (rendezvous.ts, assignActive's otherLoad).
    const otherLoad = new Map<string, number>();
    const addClaim = (key: string, node: string): void => {
      if (!this.groups.has(key)) {
        otherLoad.set(node, (otherLoad.get(node) ?? 0) + 1);
        return;
      }
      const list = claimants.get(key);
      if (list === undefined) claimants.set(key, [node]);
      else list.push(node);
    };
    for (const peer of this.heartbeat.snapshot().peers) {
      if (peer.state !== 'alive') continue;
      alive.add(peer.node);
      if (peer.eligible) eligible.add(peer.node);
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
    // Only a node that reaches the store can write a Lease, so only eligible nodes are
    // named for a group without a live holder; a live holder keeps its group even while
    // ineligible (an outage of the store for everyone must move nothing).
    const assignment = assignActive(
      [...this.groups.values()].map((group) => ({
        key: group.key,
        suitable: group.suitable.filter(
          (node) => eligible.has(node) || (node === holders.get(group.key) && alive.has(node)),
        ),
      })),
      holders,
      otherLoad,
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
          witnesses: [],
          renewStartedAt: null,
          holdingOver: false,
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
    const witnesses = this.alivePeersOf(key);
    state.op = fence
      .acquire(key, this.holderLiveness)
      .then(
        async (result) => {
          this.storeCall(now, true);
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
          state.witnesses = witnesses;
          this.becomeActive(key, state, result.previousHolder, this.heartbeat.now());
        },
        (error: unknown) => {
          state.retryAt = this.heartbeat.now() + fence.timings.renewIntervalMs;
          this.storeCall(now, false);
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
    state.retryAt = 0;
    this.setHoldingOver(key, state, false, now);
    this.publishClaims();
    this.emit('role', this.viewOf(key, state));
    this.setActiveNode(key, state, null);
    this.emit('step-down', { group: key, reason, at: now });
    this.kick();
    const fence = this.fence;
    if (fence === null) return Promise.resolve();
    if (reason === 'lease-lost' || reason === 'cut-off' || reason === 'handover') {
      // Lost, or the store does not answer: nothing to hand back; the Lease expires.
      fence.forget(key);
      return Promise.resolve();
    }
    const held = fence.holds(key);
    return fence.release(key).then(
      () => {
        if (held) this.storeCall(now, true);
      },
      (error: unknown) => {
        if (isLeaseConflict(error)) return;
        this.storeCall(now, false);
        this.emit('lease-error', { group: key, operation: 'release', error });
      },
    );
  }

  /**
   * Keeps eligibility fresh (header comment): when no other store call has started within
   * a renew interval, reads one of the groups' Leases, taking them in turn.
   */
  private probeStore(now: number): void {
    const fence = this.fence!;
    const interval = fence.timings.renewIntervalMs;
    // Only groups this node may hold: a node that only steers to a group (a worker) has
    // no use for eligibility, and every worker reading Leases would load the API server.
    const keys = [...this.groups.values()]
      .filter((group) => group.suitable.includes(this.node))
      .map((group) => group.key);
    if (this.probe.op !== null || now < this.probe.at || keys.length === 0) return;
    if (this.storeAnsweredAt !== null && now < this.storeAnsweredAt + interval) return;
    const key = keys[this.probe.next++ % keys.length]!;
    this.probe.at = now + interval;
    this.probe.op = fence
      .observe(key)
      .then(
        () => this.storeCall(now, true),
        () => this.storeCall(now, false),
      )
      .finally(() => {
        this.probe.op = null;
      });
  }

  /** Records the outcome of a store call that started at `startedAt`. */
  private storeCall(startedAt: number, answered: boolean): void {
    if (answered) {
      if (this.storeAnsweredAt === null || startedAt > this.storeAnsweredAt) {
        this.storeAnsweredAt = startedAt;
      }
    } else {
      if (this.storeAnsweredAt !== null && startedAt >= this.storeAnsweredAt) {
        this.storeAnsweredAt = null;
      }
      if (this.storeFailedAt === null || startedAt > this.storeFailedAt) {
        this.storeFailedAt = startedAt;
      }
    }
    this.updateEligibility(this.heartbeat.now());
  }

  /**
   * Eligible while the last store call was answered and started less than
   * renewDeadline - renewInterval ago; also notes since when each peer is eligible.
   */
  private updateEligibility(now: number): void {
    const { renewDeadlineMs, renewIntervalMs } = this.fence!.timings;
    const eligible =
      this.storeAnsweredAt !== null &&
      now < this.storeAnsweredAt + renewDeadlineMs - renewIntervalMs;
    const eligiblePeers = new Set<string>();
    for (const peer of this.heartbeat.snapshot().peers) {
      if (peer.state !== 'alive' || !peer.eligible) continue;
      eligiblePeers.add(peer.node);
      if (!this.peerEligibleSince.has(peer.node)) this.peerEligibleSince.set(peer.node, now);
    }
    for (const node of this.peerEligibleSince.keys()) {
      if (!eligiblePeers.has(node)) this.peerEligibleSince.delete(node);
    }
    if (this.eligible === eligible) return;
    this.eligible = eligible;
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
