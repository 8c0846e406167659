// One packet through the core: check it, find or create its flow, translate it. The
// verdict says what the batch loop does with it (verdict.ts).

import { count } from '../control';
import { C_GSO_PACKETS } from '../counters';
import { vnetHdrLen } from '../layout';
import { V_FORWARD, V_MALFORMED, V_NO_FLOW, V_NO_POLICY, V_PORTS_EXHAUSTED, V_UNSUPPORTED } from '../verdict';
import {
  checkIPv4,
  IP_DST,
  IP_ID,
  IP_OK,
  IP_PROTO,
  IP_SRC,
  ipFlagsFrag,
  ipHeaderLen,
  ipTotalLen,
  isFragment,
  isLaterFragment,
  PROTO_ICMP,
  PROTO_TCP,
  PROTO_UDP,
} from '../wire/ipv4';
import {
  ICMP_HEADER_LEN,
  ICMP_ID,
  ICMP_ECHO_REPLY,
  ICMP_ECHO_REQUEST,
  isIcmpError,
  L4_DST_PORT,
  L4_SRC_PORT,
  TCP_DATA_OFFSET,
  TCP_FLAGS,
  TCP_HEADER_LEN,
  UDP_HEADER_LEN,
} from '../wire/l4';
import { GSO_ECN, GSO_NONE, GSO_TCPV4, GSO_UDP, GSO_UDP_L4, VNET_CSUM_START, VNET_F_NEEDS_CSUM, VNET_FLAGS, VNET_GSO_TYPE } from '../wire/virtio';
import { egressSlotOf } from './egress-slots';
import { nextState, timeoutFor } from './flow-state';
import { CREATE_NO_POLICY, createFlow, findFlow } from './flow-lookup';
import { DIR_ORIGINAL, entryDirection, entryFlow, F_EXPIRY, F_MAPPING, F_STATE, flowRecord } from './flows';
import { holdFragment, recordFirstFragment, releaseHeld, translateLaterFragment } from './fragments';
import { translateIcmpError } from './icmp-error';
import { M_EGRESS_IP, M_EGRESS_PORT, M_INTERNAL_IP, M_INTERNAL_PORT, mappingProto, mappingRecord } from './mappings';
import { rewriteAddress, rewriteTransport } from './translate';

/** How many packets process() released into the emit area for this packet. */
export let emittedByPacket: u32 = 0;

/**
 * Checks the virtio header against the packet: a GSO type must match the transport
 * protocol (IPv4 only). Returns true when it is consistent.
 */
function vnetConsistent(pkt: usize, proto: u32): bool {
  const gso = load<u8>(pkt, VNET_GSO_TYPE) & ~GSO_ECN;
  if (gso == GSO_NONE) return true;
  count(C_GSO_PACKETS);
  if (gso == GSO_TCPV4) return proto == PROTO_TCP;
  if (gso == GSO_UDP || gso == GSO_UDP_L4) return proto == PROTO_UDP;
  return false;
}

export function processPacket(pkt: usize, len: u32, now: u32): u8 {
  emittedByPacket = 0;
  if (len < vnetHdrLen) return V_MALFORMED;
  const ip = pkt + vnetHdrLen;
  const ipLen = len - vnetHdrLen;
  const check = checkIPv4(ip, ipLen);
  if (check != IP_OK) return <u8>check;
  const proto = <u32>load<u8>(ip, IP_PROTO);
  if (proto != PROTO_TCP && proto != PROTO_UDP && proto != PROTO_ICMP) return V_UNSUPPORTED;
  if (vnetHdrLen != 0 && !vnetConsistent(pkt, proto)) return V_MALFORMED;

  const headerLen = ipHeaderLen(ip);
  const l4 = ip + headerLen;
  const l4len = ipTotalLen(ip) - headerLen;
  const src = load<u32>(ip, IP_SRC);
  const dst = load<u32>(ip, IP_DST);
  const inbound = egressSlotOf(dst) >= 0;
  const flagsFrag = ipFlagsFrag(ip);

  if (isLaterFragment(flagsFrag)) {
    const id = <u32>load<u16>(ip, IP_ID);
    if (translateLaterFragment(ip, src, dst, id, proto, now)) return V_FORWARD;
    return holdFragment(pkt, len, src, dst, id, proto, now);
  }

  // The checksum field is a partial sum when the device is to finish it from here.
  const partial =
    vnetHdrLen != 0 &&
    (load<u8>(pkt, VNET_FLAGS) & VNET_F_NEEDS_CSUM) != 0 &&
    <u32>load<u16>(pkt, VNET_CSUM_START) == headerLen;

  let srcPort: u32 = 0;
  let dstPort: u32 = 0;
  let tcpFlags: u32 = 0;
  let portFieldOut: usize = L4_SRC_PORT;
  let portFieldIn: usize = L4_DST_PORT;
  let echoReply = false;
  if (proto == PROTO_TCP) {
    if (l4len < TCP_HEADER_LEN) return V_MALFORMED;
    const dataOffset = (<u32>load<u8>(l4, TCP_DATA_OFFSET) >> 4) << 2;
    if (dataOffset < TCP_HEADER_LEN || dataOffset > l4len) return V_MALFORMED;
    srcPort = <u32>load<u16>(l4, L4_SRC_PORT);
    dstPort = <u32>load<u16>(l4, L4_DST_PORT);
    tcpFlags = <u32>load<u8>(l4, TCP_FLAGS);
  } else if (proto == PROTO_UDP) {
    if (l4len < UDP_HEADER_LEN) return V_MALFORMED;
    srcPort = <u32>load<u16>(l4, L4_SRC_PORT);
    dstPort = <u32>load<u16>(l4, L4_DST_PORT);
  } else {
    if (l4len < ICMP_HEADER_LEN) return V_MALFORMED;
    const type = <u32>load<u8>(l4);
    if (isIcmpError(type)) {
      // Errors are about a flow; they neither create nor refresh one.
      return translateIcmpError(ip, l4, l4len, inbound, partial, now);
    }
    const id = <u32>load<u16>(l4, ICMP_ID);
    if (type == ICMP_ECHO_REQUEST) srcPort = id;
    else if (type == ICMP_ECHO_REPLY) {
      dstPort = id;
      echoReply = true;
    } else return V_UNSUPPORTED;
    portFieldOut = ICMP_ID;
    portFieldIn = ICMP_ID;
  }

  let entry = findFlow(proto, src, dst, srcPort, dstPort, now);
  let index: u32;
  let outbound: bool;
  if (entry != 0) {
    index = entryFlow(entry);
    outbound = entryDirection(entry) == DIR_ORIGINAL;
  } else {
    // An echo reply answers a request: without a flow it answers nothing of ours.
    if (inbound || echoReply) return V_NO_FLOW;
    const created = createFlow(proto, src, dst, srcPort, dstPort, tcpFlags, now);
    if (created < 0) return created == CREATE_NO_POLICY ? V_NO_POLICY : V_PORTS_EXHAUSTED;
    index = <u32>created;
    outbound = true;
  }

  const f = flowRecord(index);
  const m = mappingRecord(load<u32>(f, F_MAPPING));
  let newAddr: u32;
  if (outbound) {
    newAddr = load<u32>(m, M_EGRESS_IP);
    const oldAddr = rewriteAddress(ip, IP_SRC, newAddr);
    rewriteTransport(l4, proto, portFieldOut, srcPort, <u32>load<u16>(m, M_EGRESS_PORT), oldAddr, newAddr, partial);
  } else {
    newAddr = load<u32>(m, M_INTERNAL_IP);
    const oldAddr = rewriteAddress(ip, IP_DST, newAddr);
    rewriteTransport(l4, proto, portFieldIn, dstPort, <u32>load<u16>(m, M_INTERNAL_PORT), oldAddr, newAddr, partial);
  }

  const state = nextState(mappingProto(m), load<u8>(f, F_STATE), outbound, tcpFlags);
  store<u8>(f, state, F_STATE);
  store<u32>(f, now + timeoutFor(proto, state), F_EXPIRY);

  if (isFragment(flagsFrag)) {
    // A first fragment: later ones of this datagram get the same address rewrite.
    const id = <u32>load<u16>(ip, IP_ID);
    recordFirstFragment(src, dst, id, proto, !outbound, newAddr, now);
    emittedByPacket = releaseHeld(src, dst, id, proto, !outbound, newAddr, now);
  }
  return V_FORWARD;
}
