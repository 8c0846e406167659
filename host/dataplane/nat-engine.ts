import type { NatPolicy } from '../model/nat-policy.ts';

/**
 * The packet core seen from outside, at the level of whole packets: the compiled core
 * (core.ts) and the reference model (reference/) both implement it, and the property
 * tests drive both with the same traffic and compare every output byte.
 * The dataplane worker does not use this interface: it moves packets through the core's
 * memory without copies (see core.ts).
 */

/** Verdict codes, one per packet; see assembly/README.md. */
export const Verdict = {
  forward: 0,
  malformed: 1,
  unsupported: 2,
  noPolicy: 3,
  noFlow: 4,
  portsExhausted: 5,
  held: 6,
  fragmentDropped: 7,
} as const;
export type Verdict = (typeof Verdict)[keyof typeof Verdict];

export const verdictNames: Record<Verdict, string> = {
  0: 'forward',
  1: 'malformed',
  2: 'unsupported',
  3: 'no_policy',
  4: 'no_flow',
  5: 'ports_exhausted',
  6: 'held',
  7: 'fragment_dropped',
};

export interface NatTimeouts {
  tcpEstablishedMs: number;
  tcpTransitoryMs: number;
  tcpTimeWaitMs: number;
  tcpClosedMs: number;
  udpMs: number;
  icmpMs: number;
  fragmentMs: number;
}

export const defaultTimeouts: NatTimeouts = {
  tcpEstablishedMs: 7_440_000,
  tcpTransitoryMs: 240_000,
  tcpTimeWaitMs: 120_000,
  tcpClosedMs: 10_000,
  udpMs: 120_000,
  icmpMs: 60_000,
  fragmentMs: 30_000,
};

export interface NatEngineConfig {
  /** Flow table capacity; a power of two. */
  maxFlows: number;
  /** Bytes of virtio_net_hdr before each packet: 0, 10 or 12. */
  vnetHdrLen: 0 | 10 | 12;
  /** Seeds port selection (portHash) and the core's hash tables. */
  seed: number;
  timeouts: NatTimeouts;
}

export interface BatchResult {
  verdicts: Verdict[];
  /** The packets after processing, same lengths as given (unchanged where dropped). */
  packets: Uint8Array[];
  /** Packets released by this batch (held fragments), each with its virtio header. */
  emitted: Uint8Array[];
}

/** A translated flow as exported for replication to standby gateways. */
export interface FlowRecord {
  proto: number;
  internalIP: string;
  internalPort: number;
  remoteIP: string;
  remotePort: number;
  egressIP: string;
  egressPort: number;
  /** The state byte: state code in the low 3 bits, direction flags above (assembly/README.md). */
  state: number;
  remainingMs: number;
}

export interface NatEngine {
  setPolicy(policy: NatPolicy): void;
  process(packets: Uint8Array[], nowMs: number): BatchResult;
  /** Frees every expired flow, mapping and fragment now. */
  sweepAll(nowMs: number): void;
  /** Every counter by name (host/dataplane/counters.ts). */
  counters(): Record<string, bigint>;
  exportFlows(nowMs: number): FlowRecord[];
  /** Returns how many records were taken. */
  importFlows(records: FlowRecord[], nowMs: number): number;
  flowCount(): number;
}
