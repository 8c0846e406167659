import type { NatTimeouts } from '../nat-engine.ts';

/**
 * Flow states and their timeouts (assembly/README.md, "Timeouts and states"). The codes
 * are the ones FlowRecord.state carries (assembly/nat/flow-state.ts uses the same).
 *
 * Readings of the README chosen here (listed for the core to match):
 * - UDP and ICMP flows are `unreplied` until their first reply, then `established`;
 *   only the eviction order looks at that.
 * - A new flow starts `syn_sent` when its first segment is a SYN without ACK, else
 *   `unreplied`; the first packet's flags then apply like any packet's (so a first RST
 *   gives `closed`, a first FIN `fin_wait`).
 * - An `unreplied` TCP flow becomes `established` at any reply that is not a RST or FIN,
 *   a SYN+ACK included ("picked up mid-stream becomes established at its first reply").
 * - Flag precedence: RST, then SYN, then FIN, then the plain-segment rules.
 */
export const FlowState = {
  synSent: 1,
  synReceived: 2,
  established: 3,
  finWait: 4,
  timeWait: 5,
  closed: 6,
  unreplied: 7,
} as const;
export type FlowState = (typeof FlowState)[keyof typeof FlowState];

export const PROTO_ICMP = 1;
export const PROTO_TCP = 6;
export const PROTO_UDP = 17;

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_ACK = 0x10;

/** What the state machine remembers besides the state. */
export interface FlowStatus {
  state: FlowState;
  replied: boolean;
  finOutbound: boolean;
  finInbound: boolean;
}

export function initialStatus(proto: number, tcpFlags: number): FlowStatus {
  const pureSyn = proto === PROTO_TCP && (tcpFlags & (TCP_SYN | TCP_ACK)) === TCP_SYN;
  return {
    state: pureSyn ? FlowState.synSent : FlowState.unreplied,
    replied: false,
    finOutbound: false,
    finInbound: false,
  };
}

/** The status after one packet of the flow in the given direction. */
export function nextStatus(
  proto: number,
  status: FlowStatus,
  outbound: boolean,
  tcpFlags: number,
): FlowStatus {
  const next = { ...status };
  if (!outbound) next.replied = true;
  if (proto !== PROTO_TCP) {
    if (!outbound) next.state = FlowState.established;
    return next;
  }
  const syn = (tcpFlags & TCP_SYN) !== 0;
  const ack = (tcpFlags & TCP_ACK) !== 0;
  if ((tcpFlags & TCP_RST) !== 0) {
    next.state = FlowState.closed;
  } else if (syn) {
    if (
      outbound &&
      !ack &&
      (status.state === FlowState.timeWait || status.state === FlowState.closed)
    ) {
      // A new connection on the same tuple (port reuse): start over.
      return { state: FlowState.synSent, replied: false, finOutbound: false, finInbound: false };
    }
    if (!outbound && ack && status.state === FlowState.synSent) next.state = FlowState.synReceived;
    else if (!outbound && status.state === FlowState.unreplied) next.state = FlowState.established;
  } else if ((tcpFlags & TCP_FIN) !== 0) {
    if (outbound) next.finOutbound = true;
    else next.finInbound = true;
    if (status.state !== FlowState.closed && status.state !== FlowState.timeWait) {
      next.state = next.finOutbound && next.finInbound ? FlowState.timeWait : FlowState.finWait;
    }
  } else if (outbound && status.state === FlowState.synReceived) {
    next.state = FlowState.established;
  } else if (!outbound && status.state === FlowState.unreplied) {
    next.state = FlowState.established;
  }
  return next;
}

export function timeoutFor(proto: number, state: FlowState, timeouts: NatTimeouts): number {
  if (proto === PROTO_ICMP) return timeouts.icmpMs;
  if (proto !== PROTO_TCP) return timeouts.udpMs;
  switch (state) {
    case FlowState.established:
      return timeouts.tcpEstablishedMs;
    case FlowState.timeWait:
      return timeouts.tcpTimeWaitMs;
    case FlowState.closed:
      return timeouts.tcpClosedMs;
    default:
      return timeouts.tcpTransitoryMs;
  }
}

/** Eviction preference (lower goes first): closing, then unreplied, then the rest. */
export function evictionClass(status: FlowStatus): number {
  const closing =
    status.state === FlowState.closed ||
    status.state === FlowState.timeWait ||
    status.state === FlowState.finWait;
  if (closing) return 0;
  return status.replied ? 2 : 1;
}

/** Wrapping u32 milliseconds: expired once now has reached the expiry. */
export function isExpired(expiryMs: number, nowMs: number): boolean {
  return ((nowMs - expiryMs) | 0) >= 0;
}

/** Milliseconds left before expiry (negative when expired). */
export function remainingMs(expiryMs: number, nowMs: number): number {
  return (expiryMs - nowMs) | 0;
}
