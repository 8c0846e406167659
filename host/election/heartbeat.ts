import { createSocket, type Socket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import { ElectionError } from './errors.ts';
import {
  decodeHeartbeat,
  encodeHeartbeat,
  isValidNodeName,
  type PacketDropReason,
} from './heartbeat-packet.ts';
import {
  type LivenessEvent,
  type PeerRecord,
  PeerTable,
  type ReceiveDropReason,
} from './peer-liveness.ts';

/**
 * UDP heartbeats between the agents of the gateway nodes, on the node network.
 *
 * Every `intervalMs` the agent sends one authenticated datagram to each peer (its name,
 * incarnation, sequence, the groups it holds, its view of the peers), and a sweep every
 * `sweepIntervalMs` turns silent peers dead (rules in peer-liveness.ts). With the defaults
 * (100 ms, dead after 350 ms, sweep 25 ms) a dead peer is noticed 350-375 ms after its
 * last heartbeat, which leaves more than half of the 1 s failover budget for fencing and
 * announcement. Three lost packets in a row are tolerated; a fourth is a death.
 *
 * A change of this node's view (a peer turned alive or dead) is sent at once, like a
 * change of claims: a holder that cannot renew its Lease watches its peers' views to
 * learn that one of them no longer hears it (elector.ts, holding over), and must learn
 * it well within the fencing margin that peer waits before taking the Lease.
 */

export interface HeartbeatPeer {
  node: string;
  address: string;
  port: number;
}

export interface HeartbeatOptions {
  /** This node's name; must not be one of the peers (peers named so are skipped). */
  node: string;
  /** Local address and port to bind; port 0 picks a free one (tests). */
  address: string;
  port: number;
  /** Shared by the agents of a cluster; datagrams with another MAC are dropped. */
  secret: string | Uint8Array;
  peers?: readonly HeartbeatPeer[];
  intervalMs?: number;
  deadAfterMs?: number;
  riseCount?: number;
  sweepIntervalMs?: number;
  /** Identifies this run; defaults to the wall clock in ms at construction. */
  incarnation?: number;
  /** Monotonic clock in ms; every time this module reports is on it. */
  now?: () => number;
}

export const heartbeatDefaults = {
  intervalMs: 100,
  deadAfterMs: 350,
  riseCount: 3,
  sweepIntervalMs: 25,
} as const;

export type HeartbeatDropReason = PacketDropReason | ReceiveDropReason | 'own_node';

export interface PeerStatus extends PeerRecord {
  address: string;
  port: number;
}

export interface HeartbeatSnapshot {
  node: string;
  incarnation: number;
  sequence: number;
  claims: string[];
  eligible: boolean;
  peers: PeerStatus[];
  sent: number;
  sendErrors: number;
  received: number;
  drops: Partial<Record<HeartbeatDropReason, number>>;
}

export interface HeartbeatEvents {
  liveness: [event: LivenessEvent];
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new ElectionError('EGW_ELECTION_CONFIG', `${name} must be a positive number`);
  }
  return value;
}

function checkPeer(peer: HeartbeatPeer): HeartbeatPeer {
  if (!isValidNodeName(peer.node)) {
    throw new ElectionError('EGW_ELECTION_CONFIG', `invalid peer node name ${peer.node}`);
  }
  if (isIP(peer.address) === 0) {
    throw new ElectionError(
      'EGW_ELECTION_CONFIG',
      `peer ${peer.node}: bad address ${peer.address}`,
    );
  }
  if (!Number.isInteger(peer.port) || peer.port < 1 || peer.port > 65535) {
    throw new ElectionError('EGW_ELECTION_CONFIG', `peer ${peer.node}: bad port ${peer.port}`);
  }
  return { node: peer.node, address: peer.address, port: peer.port };
}

export class Heartbeat extends EventEmitter<HeartbeatEvents> {
  readonly node: string;
  readonly incarnation: number;
  readonly intervalMs: number;
  readonly deadAfterMs: number;
  readonly now: () => number;

  private readonly bindAddress: string;
  private readonly bindPort: number;
  private readonly secret: Uint8Array;
  private readonly sweepIntervalMs: number;
  private readonly table: PeerTable;
  private peers = new Map<string, HeartbeatPeer>();
  private claims: string[] = [];
  private eligible = true;
  private sequence = 0;
  private socket: Socket | null = null;
  private sendTimer: NodeJS.Timeout | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  private sent = 0;
  private sendErrors = 0;
  private received = 0;
  private readonly drops: Partial<Record<HeartbeatDropReason, number>> = {};

  constructor(options: HeartbeatOptions) {
    super();
    if (!isValidNodeName(options.node)) {
      throw new ElectionError('EGW_ELECTION_CONFIG', `invalid node name ${options.node}`);
    }
    if (isIP(options.address) === 0) {
      throw new ElectionError('EGW_ELECTION_CONFIG', `bad bind address ${options.address}`);
    }
    if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
      throw new ElectionError('EGW_ELECTION_CONFIG', `bad bind port ${options.port}`);
    }
    const secret =
      typeof options.secret === 'string' ? Buffer.from(options.secret, 'utf8') : options.secret;
    if (secret.length === 0) {
      throw new ElectionError('EGW_ELECTION_CONFIG', 'the heartbeat secret must not be empty');
    }
    this.node = options.node;
    this.bindAddress = options.address;
    this.bindPort = options.port;
    this.secret = secret;
    this.incarnation = options.incarnation ?? Date.now();
    this.intervalMs = positive('intervalMs', options.intervalMs ?? heartbeatDefaults.intervalMs);
    this.deadAfterMs = positive(
      'deadAfterMs',
      options.deadAfterMs ?? heartbeatDefaults.deadAfterMs,
    );
    this.sweepIntervalMs = positive(
      'sweepIntervalMs',
      options.sweepIntervalMs ?? heartbeatDefaults.sweepIntervalMs,
    );
    const riseCount = options.riseCount ?? heartbeatDefaults.riseCount;
    if (!Number.isInteger(riseCount) || riseCount < 1) {
      throw new ElectionError('EGW_ELECTION_CONFIG', 'riseCount must be a positive integer');
    }
    if (this.deadAfterMs <= this.intervalMs) {
      throw new ElectionError('EGW_ELECTION_CONFIG', 'deadAfterMs must exceed intervalMs');
    }
    this.now = options.now ?? (() => performance.now());
    this.table = new PeerTable({ deadAfterMs: this.deadAfterMs, riseCount });
    this.setPeers(options.peers ?? []);
  }

  /** Binds the socket and starts sending; resolves with the bound address and port. */
  async start(): Promise<{ address: string; port: number }> {
    if (this.socket !== null) throw new ElectionError('EGW_HEARTBEAT_SOCKET', 'already started');
    const socket = createSocket({ type: isIP(this.bindAddress) === 6 ? 'udp6' : 'udp4' });
    this.socket = socket;
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(this.bindPort, this.bindAddress, () => {
          socket.off('error', reject);
          resolve();
        });
      });
    } catch (error) {
      this.socket = null;
      socket.close();
      throw new ElectionError(
        'EGW_HEARTBEAT_SOCKET',
        `cannot bind ${this.bindAddress}:${this.bindPort}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    // After the bind, errors come from individual sends and reach their callbacks;
    // an 'error' listener keeps a stray one from crashing the agent.
    socket.on('error', () => {
      this.sendErrors++;
    });
    socket.on('message', (bytes) => this.onMessage(bytes));
    this.sendTimer = setInterval(() => this.sendAll(false), this.intervalMs);
    this.sweepTimer = setInterval(() => this.sweep(), this.sweepIntervalMs);
    this.sendAll(false);
    return this.localAddress();
  }

  /**
   * Stops sending and closes the socket. With `goodbye`, first tells the peers this
   * node is leaving, so they turn it dead without waiting for the window.
   */
  async stop(options: { goodbye?: boolean } = {}): Promise<void> {
    const socket = this.socket;
    if (socket === null) return;
    if (this.sendTimer !== null) clearInterval(this.sendTimer);
    if (this.sweepTimer !== null) clearInterval(this.sweepTimer);
    this.sendTimer = null;
    this.sweepTimer = null;
    if (options.goodbye === true) await this.sendAll(true);
    this.socket = null;
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }

  localAddress(): { address: string; port: number } {
    if (this.socket === null) throw new ElectionError('EGW_HEARTBEAT_SOCKET', 'not started');
    const { address, port } = this.socket.address();
    return { address, port };
  }

  /** Replaces the peer list; kept peers keep their liveness. Entries for this node are skipped. */
  setPeers(peers: readonly HeartbeatPeer[]): void {
    const next = new Map<string, HeartbeatPeer>();
    for (const peer of peers) {
      const checked = checkPeer(peer);
      if (checked.node === this.node) continue;
      if (next.has(checked.node)) {
        throw new ElectionError('EGW_ELECTION_CONFIG', `peer ${checked.node} listed twice`);
      }
      next.set(checked.node, checked);
    }
    this.peers = next;
    this.table.setPeers(next.keys(), this.now());
  }

  /** The groups this node holds; a change is sent at once rather than at the next tick. */
  setClaims(groupKeys: readonly string[]): void {
    const sorted = [...new Set(groupKeys)].sort();
    if (sorted.length === this.claims.length && sorted.every((k, i) => k === this.claims[i])) {
      return;
    }
    // Encode once here so that a claim set too large for a datagram throws to the caller
    // instead of inside the send timer.
    this.encode(sorted, false);
    this.claims = sorted;
    if (this.socket !== null) this.sendAll(false);
  }

  /** Whether this node may take roles; a change is sent at once. */
  setEligible(eligible: boolean): void {
    if (this.eligible === eligible) return;
    this.eligible = eligible;
    if (this.socket !== null) this.sendAll(false);
  }

  peer(node: string): Readonly<PeerRecord> | undefined {
    return this.table.get(node);
  }

  isAlive(node: string): boolean {
    return node === this.node || this.table.get(node)?.state === 'alive';
  }

  snapshot(): HeartbeatSnapshot {
    return {
      node: this.node,
      incarnation: this.incarnation,
      sequence: this.sequence,
      claims: [...this.claims],
      eligible: this.eligible,
      peers: this.table.snapshot().map((record) => {
        const peer = this.peers.get(record.node)!;
        return { ...record, address: peer.address, port: peer.port };
      }),
      sent: this.sent,
      sendErrors: this.sendErrors,
      received: this.received,
      drops: { ...this.drops },
    };
  }

  private drop(reason: HeartbeatDropReason): void {
    this.drops[reason] = (this.drops[reason] ?? 0) + 1;
  }

  private onMessage(bytes: Buffer): void {
    this.received++;
    const decoded = decodeHeartbeat(bytes, this.secret);
    if (!decoded.ok) {
      this.drop(decoded.reason);
      return;
    }
    if (decoded.packet.node === this.node) {
      this.drop('own_node');
      return;
    }
    const result = this.table.receive(decoded.packet, this.now());
    if (!result.accepted) {
      this.drop(result.reason);
      return;
    }
    this.announce(result.events);
  }

  private sweep(): void {
    this.announce(this.table.sweep(this.now()));
  }

  /** Passes liveness events on, and sends the new view at once when it changed. */
  private announce(events: readonly LivenessEvent[]): void {
    for (const event of events) this.emit('liveness', event);
    if (this.socket !== null && events.some(changesView)) this.sendAll(false);
  }

  private encode(claims: string[], leaving: boolean): Buffer {
    return encodeHeartbeat(
      {
        node: this.node,
        incarnation: this.incarnation,
        sequence: this.sequence,
        leaving,
        eligible: this.eligible,
        claims,
        view: this.table.snapshot().map((peer) => ({ node: peer.node, state: peer.state })),
      },
      this.secret,
    );
  }

  /**
   * Sends one heartbeat to every peer; resolves when every send has completed. The u32
   * sequence lasts 13 years at 10 heartbeats a second; the incarnation changes long before.
   */
  private sendAll(leaving: boolean): Promise<void> {
    const socket = this.socket;
    if (socket === null || this.peers.size === 0) return Promise.resolve();
    this.sequence++;
    const packet = this.encode(this.claims, leaving);
    const sends = [...this.peers.values()].map(
      (peer) =>
        new Promise<void>((resolve) => {
          socket.send(packet, peer.port, peer.address, (error) => {
            if (error) this.sendErrors++;
            else this.sent++;
            resolve();
          });
        }),
    );
    return Promise.all(sends).then(() => undefined);
  }
}

/** Whether a liveness event changes the view this node sends its peers. */
export function changesView(event: LivenessEvent): boolean {
  return event.type === 'alive' || event.type === 'dead';
}
