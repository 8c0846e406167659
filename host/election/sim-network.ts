import { EventEmitter } from 'node:events';
import type { HeartbeatView } from './elector.ts';
import { ElectionError } from './errors.ts';
import {
  changesView,
  type HeartbeatEvents,
  type HeartbeatSnapshot,
  heartbeatDefaults,
} from './heartbeat.ts';
import type { HeartbeatPacket } from './heartbeat-packet.ts';
import { type LivenessEvent, PeerTable } from './peer-liveness.ts';

/**
 * Heartbeats on a simulated network, for election tests that run on fake time
 * (vi.useFakeTimers): the same peer rules as heartbeat.ts (PeerTable) and the same
 * sending habits (every interval, and at once when claims, eligibility or the view
 * change), with
 * packets carried as objects after `latencyMs` instead of UDP datagrams. Links can be cut
 * one way or both ways, so partitions that sockets on one host cannot produce are easy.
 * Like memory-lease-store.ts it is a test double that lives beside what it stands for.
 */

export class SimNetwork {
  latencyMs = 1;
  private readonly members = new Map<string, SimHeartbeat>();
  /** Cut directions, as `from>to`. */
  private readonly cut = new Set<string>();

  attach(heartbeat: SimHeartbeat): void {
    this.members.set(heartbeat.node, heartbeat);
  }

  detach(heartbeat: SimHeartbeat): void {
    if (this.members.get(heartbeat.node) === heartbeat) this.members.delete(heartbeat.node);
  }

  /** Stops (or with `up`, lets through again) packets from `from` to `to`. */
  setLink(from: string, to: string, up: boolean): void {
    if (up) this.cut.delete(`${from}>${to}`);
    else this.cut.add(`${from}>${to}`);
  }

  /** Cuts (or restores) every link of a node both ways, as unplugging its cable would. */
  setNodeLinks(node: string, up: boolean): void {
    for (const other of this.members.keys()) {
      if (other === node) continue;
      this.setLink(node, other, up);
      this.setLink(other, node, up);
    }
  }

  send(from: string, to: string, packet: HeartbeatPacket): void {
    if (this.cut.has(`${from}>${to}`)) return;
    setTimeout(() => {
      if (!this.cut.has(`${from}>${to}`)) this.members.get(to)?.receive(packet);
    }, this.latencyMs);
  }
}

export interface SimHeartbeatOptions {
  node: string;
  network: SimNetwork;
  peers: readonly string[];
  incarnation: number;
  now: () => number;
  intervalMs?: number;
  deadAfterMs?: number;
}

/** Stands in for Heartbeat wherever the elector uses one (its HeartbeatView). */
export class SimHeartbeat extends EventEmitter<HeartbeatEvents> implements HeartbeatView {
  readonly node: string;
  readonly incarnation: number;
  readonly intervalMs: number;
  readonly deadAfterMs: number;
  readonly now: () => number;
  private readonly network: SimNetwork;
  private readonly table: PeerTable;
  private peers: string[];
  private claims: string[] = [];
  private eligible = true;
  private sequence = 0;
  private timers: NodeJS.Timeout[] = [];

  constructor(options: SimHeartbeatOptions) {
    super();
    this.node = options.node;
    this.incarnation = options.incarnation;
    this.now = options.now;
    this.intervalMs = options.intervalMs ?? heartbeatDefaults.intervalMs;
    this.deadAfterMs = options.deadAfterMs ?? heartbeatDefaults.deadAfterMs;
    this.network = options.network;
    this.peers = options.peers.filter((peer) => peer !== this.node);
    this.table = new PeerTable({
      deadAfterMs: this.deadAfterMs,
      riseCount: heartbeatDefaults.riseCount,
    });
    this.table.setPeers(this.peers, this.now());
  }

  start(): void {
    if (this.timers.length > 0) throw new ElectionError('EGW_HEARTBEAT_SOCKET', 'already started');
    this.network.attach(this);
    this.timers = [
      setInterval(() => this.sendAll(false), this.intervalMs),
      setInterval(
        () => this.announce(this.table.sweep(this.now())),
        heartbeatDefaults.sweepIntervalMs,
      ),
    ];
    this.sendAll(false);
  }

  /** Stops sending and receiving; with `goodbye`, tells the peers first. */
  stop(options: { goodbye?: boolean } = {}): void {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    if (options.goodbye === true) this.sendAll(true);
    this.network.detach(this);
  }

  receive(packet: HeartbeatPacket): void {
    if (this.timers.length === 0) return;
    const result = this.table.receive(packet, this.now());
    if (result.accepted) this.announce(result.events);
  }

  setClaims(groupKeys: readonly string[]): void {
    const sorted = [...new Set(groupKeys)].sort();
    if (sorted.length === this.claims.length && sorted.every((k, i) => k === this.claims[i])) {
      return;
    }
    this.claims = sorted;
    if (this.timers.length > 0) this.sendAll(false);
  }

  setEligible(eligible: boolean): void {
    if (this.eligible === eligible) return;
    this.eligible = eligible;
    if (this.timers.length > 0) this.sendAll(false);
  }

  peer(node: string) {
    return this.table.get(node);
  }

  snapshot(): HeartbeatSnapshot {
    return {
      node: this.node,
      incarnation: this.incarnation,
      sequence: this.sequence,
      claims: [...this.claims],
      eligible: this.eligible,
      peers: this.table.snapshot().map((record) => ({ ...record, address: 'sim', port: 0 })),
      sent: this.sequence,
      sendErrors: 0,
      received: 0,
      drops: {},
    };
  }

  private announce(events: readonly LivenessEvent[]): void {
    for (const event of events) this.emit('liveness', event);
    if (this.timers.length > 0 && events.some(changesView)) this.sendAll(false);
  }

  private sendAll(leaving: boolean): void {
    this.sequence++;
    const packet: HeartbeatPacket = {
      node: this.node,
      incarnation: this.incarnation,
      sequence: this.sequence,
      leaving,
      eligible: this.eligible,
      claims: [...this.claims],
      view: this.table.snapshot().map((peer) => ({ node: peer.node, state: peer.state })),
    };
    for (const peer of this.peers) this.network.send(this.node, peer, packet);
  }
}
