import type { HeartbeatPacket, ViewState } from './heartbeat-packet.ts';

/**
 * Liveness of the peers of one agent, as a pure state machine over (packet, time) and
 * (sweep, time): no sockets and no clocks, so the rules are tested with exact times.
 *
 * Invariants:
 *  - a peer is `unknown` only during the first dead window after it was added; then it is
 *    `alive` or `dead`;
 *  - `alive` needs `riseCount` accepted heartbeats, each within `deadAfterMs` of the one
 *    before (a lost packet or two does not break the streak, a dead window does);
 *  - an `alive` peer turns `dead` once `deadAfterMs` pass without an accepted heartbeat,
 *    or at once when it says it is leaving; `deadSince` is the instant the window ran
 *    out, not the (later) instant a sweep noticed it;
 *  - within one incarnation sequence numbers only grow: a repeated or older sequence is
 *    dropped (a replay, or reordering, which carries no news);
 *  - a greater incarnation is a restart; a smaller one is accepted only from a dead peer
 *    (its clock went back while it was down), otherwise it is a stale packet.
 */

export type PeerState = ViewState;

export interface PeerRecord {
  node: string;
  state: PeerState;
  /** The incarnation of the last accepted heartbeat, null before the first. */
  incarnation: number | null;
  sequence: number;
  /** Time of the last accepted heartbeat (the caller's monotonic clock, ms). */
  lastHeardAt: number | null;
  /** When the peer was added, or last turned alive or dead. */
  changedAt: number;
  /** When the peer turned dead: the end of its last dead window. Null unless dead. */
  deadSince: number | null;
  /** Accepted heartbeats in a row, each within the dead window of the one before. */
  streak: number;
  /** Whether the peer last said it may take roles (see FLAG_INELIGIBLE). */
  eligible: boolean;
  /** Group keys the peer last said it is active for. */
  claims: string[];
  /** The peer's last reported view of its own peers. */
  view: HeartbeatPacket['view'];
}

export type LivenessEvent =
  | { type: 'alive'; node: string; at: number }
  | { type: 'dead'; node: string; at: number; lastHeardAt: number | null; leaving: boolean }
  | { type: 'restarted'; node: string; incarnation: number; previousIncarnation: number }
  | { type: 'claims'; node: string; claims: string[] }
  | { type: 'eligible'; node: string; eligible: boolean };

export type ReceiveDropReason = 'unknown_peer' | 'stale_incarnation' | 'old_sequence';

export type ReceiveResult =
  | { accepted: true; events: LivenessEvent[] }
  | { accepted: false; reason: ReceiveDropReason };

export interface LivenessOptions {
  /** A peer silent for longer than this is dead. */
  deadAfterMs: number;
  /** Consecutive heartbeats that bring a peer (back) to alive. */
  riseCount: number;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((item, i) => item === b[i]);
}

export class PeerTable {
  private readonly options: LivenessOptions;
  private readonly peers = new Map<string, PeerRecord>();

  constructor(options: LivenessOptions) {
    this.options = options;
  }

  /** Adds new peers as unknown, forgets peers not listed; kept peers keep their state. */
  setPeers(nodes: Iterable<string>, now: number): void {
    const wanted = new Set(nodes);
    for (const node of this.peers.keys()) {
      if (!wanted.has(node)) this.peers.delete(node);
    }
    for (const node of wanted) {
      if (this.peers.has(node)) continue;
      this.peers.set(node, {
        node,
        state: 'unknown',
        incarnation: null,
        sequence: 0,
        lastHeardAt: null,
        changedAt: now,
        deadSince: null,
        streak: 0,
        eligible: true,
        claims: [],
        view: [],
      });
    }
  }

  receive(packet: HeartbeatPacket, now: number): ReceiveResult {
    const peer = this.peers.get(packet.node);
    if (peer === undefined) return { accepted: false, reason: 'unknown_peer' };
    const events: LivenessEvent[] = [];

    if (peer.incarnation === null || packet.incarnation !== peer.incarnation) {
      if (
        peer.incarnation !== null &&
        packet.incarnation < peer.incarnation &&
        peer.state !== 'dead'
      ) {
        return { accepted: false, reason: 'stale_incarnation' };
      }
      if (peer.incarnation !== null) {
        events.push({
          type: 'restarted',
          node: peer.node,
          incarnation: packet.incarnation,
          previousIncarnation: peer.incarnation,
        });
      }
      peer.incarnation = packet.incarnation;
    } else if (packet.sequence <= peer.sequence) {
      return { accepted: false, reason: 'old_sequence' };
    }
    peer.sequence = packet.sequence;

    const inWindow =
      peer.lastHeardAt !== null && now - peer.lastHeardAt <= this.options.deadAfterMs;
    peer.streak = inWindow ? peer.streak + 1 : 1;
    peer.lastHeardAt = now;
    peer.view = packet.view;
    if (peer.eligible !== packet.eligible) {
      peer.eligible = packet.eligible;
      events.push({ type: 'eligible', node: peer.node, eligible: peer.eligible });
    }
    if (!sameList(peer.claims, packet.claims)) {
      peer.claims = [...packet.claims];
      events.push({ type: 'claims', node: peer.node, claims: peer.claims });
    }

    if (packet.leaving) {
      peer.streak = 0;
      if (peer.state !== 'dead') {
        peer.state = 'dead';
        peer.changedAt = now;
        peer.deadSince = now;
        events.push({ type: 'dead', node: peer.node, at: now, lastHeardAt: now, leaving: true });
      }
    } else if (peer.state !== 'alive' && peer.streak >= this.options.riseCount) {
      peer.state = 'alive';
      peer.changedAt = now;
      peer.deadSince = null;
      events.push({ type: 'alive', node: peer.node, at: now });
    }
    return { accepted: true, events };
  }

  /** Turns silent peers dead; call it more often than the dead window is long. */
  sweep(now: number): LivenessEvent[] {
    const events: LivenessEvent[] = [];
    for (const peer of this.peers.values()) {
      const since = peer.lastHeardAt ?? peer.changedAt;
      const windowEnd = since + this.options.deadAfterMs;
      if (now <= windowEnd) continue;
      peer.streak = 0;
      if (peer.state === 'dead') continue;
      peer.state = 'dead';
      peer.changedAt = now;
      peer.deadSince = windowEnd;
      events.push({
        type: 'dead',
        node: peer.node,
        at: windowEnd,
        lastHeardAt: peer.lastHeardAt,
        leaving: false,
      });
    }
    return events;
  }

  get(node: string): Readonly<PeerRecord> | undefined {
    return this.peers.get(node);
  }

  /** Copies of every record, sorted by node name. */
  snapshot(): PeerRecord[] {
    return [...this.peers.values()]
      .map((peer) => ({ ...peer, claims: [...peer.claims], view: [...peer.view] }))
      .sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  }
}
