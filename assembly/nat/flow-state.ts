// Flow states and timeouts (assembly/README.md, "Timeouts and states"). One byte per
// flow: the state in the low three bits, direction flags above it.

import { PROTO_ICMP, PROTO_TCP } from '../wire/ipv4';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../wire/l4';
import {
  icmpMs,
  tcpClosedMs,
  tcpEstablishedMs,
  tcpTimeWaitMs,
  tcpTransitoryMs,
  udpMs,
} from '../layout';

export const ST_FREE: u8 = 0;
export const ST_SYN_SENT: u8 = 1;
export const ST_SYN_RECEIVED: u8 = 2;
export const ST_ESTABLISHED: u8 = 3;
export const ST_FIN_WAIT: u8 = 4;
export const ST_TIME_WAIT: u8 = 5;
export const ST_CLOSED: u8 = 6;
/** Created by something other than a SYN (TCP) or any UDP/ICMP flow before its reply. */
export const ST_UNREPLIED: u8 = 7;
export const ST_MASK: u8 = 7;

export const F_REPLIED: u8 = 0x08;
export const F_FIN_OUT: u8 = 0x10;
export const F_FIN_IN: u8 = 0x20;

/** The state byte of a new flow, before its first packet's flags apply. */
@inline export function initialState(proto: u32, tcpFlags: u32): u8 {
  if (proto == PROTO_TCP && (tcpFlags & (TCP_SYN | TCP_ACK)) == TCP_SYN) return ST_SYN_SENT;
  return ST_UNREPLIED;
}

/** The state byte after a packet in direction `outbound` with TCP flags `tcpFlags`. */
export function nextState(proto: u32, stateFlags: u8, outbound: bool, tcpFlags: u32): u8 {
  let state = stateFlags & ST_MASK;
  let flags = stateFlags & ~ST_MASK;
  if (!outbound) flags |= F_REPLIED;
  if (proto != PROTO_TCP) {
    if (!outbound) state = ST_ESTABLISHED;
    return state | flags;
  }
  if (tcpFlags & TCP_RST) {
    state = ST_CLOSED;
  } else if (tcpFlags & TCP_SYN) {
    if (outbound && (tcpFlags & TCP_ACK) == 0 && (state == ST_TIME_WAIT || state == ST_CLOSED)) {
      // A new connection on the same tuple after the old one closed (port reuse).
      state = ST_SYN_SENT;
      flags = 0;
    } else if (!outbound && (tcpFlags & TCP_ACK) != 0 && state == ST_SYN_SENT) {
      state = ST_SYN_RECEIVED;
    } else if (!outbound && state == ST_UNREPLIED) {
      // A flow picked up mid-stream is established at its first reply, whatever it is.
      state = ST_ESTABLISHED;
    }
  } else if (tcpFlags & TCP_FIN) {
    flags |= outbound ? F_FIN_OUT : F_FIN_IN;
    if ((flags & (F_FIN_OUT | F_FIN_IN)) == (F_FIN_OUT | F_FIN_IN)) {
      if (state != ST_CLOSED) state = ST_TIME_WAIT;
    } else if (state != ST_TIME_WAIT && state != ST_CLOSED) {
      state = ST_FIN_WAIT;
    }
  } else if (outbound && state == ST_SYN_RECEIVED) {
    state = ST_ESTABLISHED;
  } else if (!outbound && state == ST_UNREPLIED) {
    state = ST_ESTABLISHED;
  }
  return state | flags;
}

export function timeoutFor(proto: u32, stateFlags: u8): u32 {
  if (proto == PROTO_ICMP) return icmpMs;
  if (proto != PROTO_TCP) return udpMs;
  const state = stateFlags & ST_MASK;
  if (state == ST_ESTABLISHED) return tcpEstablishedMs;
  if (state == ST_TIME_WAIT) return tcpTimeWaitMs;
  if (state == ST_CLOSED) return tcpClosedMs;
  return tcpTransitoryMs;
}

/** Eviction preference: 0 closing, 1 unreplied, 2 anything else. */
@inline export function evictionClass(stateFlags: u8): u32 {
  const state = stateFlags & ST_MASK;
  if (state == ST_CLOSED || state == ST_TIME_WAIT || state == ST_FIN_WAIT) return 0;
  if ((stateFlags & F_REPLIED) == 0) return 1;
  return 2;
}

/** Expired when now has reached the expiry (wrapping u32 milliseconds). */
@inline export function isExpired(expiry: u32, now: u32): bool {
  return <i32>(now - expiry) >= 0;
}
