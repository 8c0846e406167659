// ICMP errors about our flows (RFC 5508 section 3.2, REQ-4 and REQ-5). The error quotes
// the datagram that caused it; reversing the quoted tuple gives the flow's tuple in the
// error's own direction. Every address and port of our translation that appears, outside
// or inside the quote, is rewritten, with all four checksums, so that path-MTU discovery
// (destination unreachable, code 4) and traceroute keep working through the gateway.

import { count } from '../control';
import { C_ICMP_ERRORS_TRANSLATED } from '../counters';
import { V_FORWARD, V_MALFORMED, V_NO_FLOW, V_UNSUPPORTED } from '../verdict';
import { checksumReplace16, checksumReplace32 } from '../wire/checksum';
import {
  IP_CHECKSUM,
  IP_DST,
  IP_HEADER_LEN,
  IP_OFFSET_MASK,
  IP_PROTO,
  IP_SRC,
  PROTO_ICMP,
  PROTO_TCP,
  PROTO_UDP,
} from '../wire/ipv4';
import {
  ICMP_CHECKSUM,
  ICMP_ECHO_REPLY,
  ICMP_ECHO_REQUEST,
  ICMP_ID,
  ICMP_QUOTE,
  L4_DST_PORT,
  L4_SRC_PORT,
  TCP_CHECKSUM,
  UDP_CHECKSUM,
} from '../wire/l4';
import { DIR_ORIGINAL, DIR_REPLY, entryDirection, entryFlow, F_MAPPING, flowRecord } from './flows';
import { findFlow } from './flow-lookup';
import { M_EGRESS_IP, M_EGRESS_PORT, M_INTERNAL_IP, M_INTERNAL_PORT, mappingRecord } from './mappings';
import { rewriteAddress } from './translate';

/**
 * Translates the ICMP error at `l4` (ICMP payload length `l4len`) of the packet at `ip`.
 * `inbound`: the outer destination is an egress address. `partial`: the ICMP checksum is
 * a CHECKSUM_PARTIAL sum the device finishes, so it is left alone.
 */
export function translateIcmpError(ip: usize, l4: usize, l4len: u32, inbound: bool, partial: bool, now: u32): u8 {
  if (l4len < <u32>ICMP_QUOTE + IP_HEADER_LEN) return V_MALFORMED;
  const q = l4 + ICMP_QUOTE;
  const quoteLen = l4len - <u32>ICMP_QUOTE;
  const versionIhl = <u32>load<u8>(q);
  if (versionIhl >> 4 != 4) return V_MALFORMED;
  const innerHeaderLen = (versionIhl & 0xf) << 2;
  if (innerHeaderLen < IP_HEADER_LEN || quoteLen < innerHeaderLen + 8) return V_MALFORMED;
  // A quoted later fragment has no ports to find the flow by.
  if ((<u32>bswap<u16>(load<u16>(q, 6)) & IP_OFFSET_MASK) != 0) return V_UNSUPPORTED;
  const innerProto = <u32>load<u8>(q, IP_PROTO);
  const il4 = q + innerHeaderLen;
  const il4len = quoteLen - innerHeaderLen;
  const innerSrc = load<u32>(q, IP_SRC);
  const innerDst = load<u32>(q, IP_DST);
  let innerSrcPort: u32 = 0;
  let innerDstPort: u32 = 0;
  let portField: usize = 0;
  if (innerProto == PROTO_TCP || innerProto == PROTO_UDP) {
    innerSrcPort = <u32>load<u16>(il4, L4_SRC_PORT);
    innerDstPort = <u32>load<u16>(il4, L4_DST_PORT);
    // Inbound errors quote what we sent: our port is the source. Outbound ones quote
    // what the pod received: its port is the destination.
    portField = inbound ? L4_SRC_PORT : L4_DST_PORT;
  } else if (innerProto == PROTO_ICMP) {
    const type = <u32>load<u8>(il4);
    const id = <u32>load<u16>(il4, ICMP_ID);
    if (type == ICMP_ECHO_REQUEST) innerSrcPort = id;
    else if (type == ICMP_ECHO_REPLY) innerDstPort = id;
    else return V_UNSUPPORTED;
    portField = ICMP_ID;
  } else {
    return V_UNSUPPORTED;
  }

  // The quoted datagram travelled the other way: reversed, it is our packet's tuple.
  const entry = findFlow(innerProto, innerDst, innerSrc, innerDstPort, innerSrcPort, now);
  if (entry == 0) return V_NO_FLOW;
  if (entryDirection(entry) != (inbound ? DIR_REPLY : DIR_ORIGINAL)) return V_NO_FLOW;
  const m = mappingRecord(load<u32>(flowRecord(entryFlow(entry)), F_MAPPING));

  // Which address and port of the quote change, and to what.
  let oldAddr: u32, newAddr: u32, newPort: u32;
  let innerAddrField: usize;
  if (inbound) {
    innerAddrField = IP_SRC;
    oldAddr = innerSrc;
    newAddr = load<u32>(m, M_INTERNAL_IP);
    newPort = <u32>load<u16>(m, M_INTERNAL_PORT);
    rewriteAddress(ip, IP_DST, newAddr);
  } else {
    innerAddrField = IP_DST;
    oldAddr = innerDst;
    newAddr = load<u32>(m, M_EGRESS_IP);
    newPort = <u32>load<u16>(m, M_EGRESS_PORT);
    rewriteAddress(ip, IP_SRC, newAddr);
  }
  const oldPort = <u32>load<u16>(il4 + portField);

  // The quote: inner address and header checksum, inner port, inner L4 checksum where
  // the quote holds it. Each changed word is also folded into the outer ICMP checksum.
  let icmpSum = <u32>load<u16>(l4, ICMP_CHECKSUM);
  const oldInnerIpSum = <u32>load<u16>(q, IP_CHECKSUM);
  rewriteAddress(q, innerAddrField, newAddr);
  icmpSum = checksumReplace32(icmpSum, oldAddr, newAddr);
  icmpSum = checksumReplace16(icmpSum, oldInnerIpSum, <u32>load<u16>(q, IP_CHECKSUM));

  store<u16>(il4 + portField, <u16>newPort);
  icmpSum = checksumReplace16(icmpSum, oldPort, newPort);

  let checksumField: usize = 0;
  let hasChecksum = false;
  if (innerProto == PROTO_TCP) {
    checksumField = TCP_CHECKSUM;
    hasChecksum = il4len >= <u32>TCP_CHECKSUM + 2;
  } else if (innerProto == PROTO_UDP) {
    checksumField = UDP_CHECKSUM;
    hasChecksum = load<u16>(il4, UDP_CHECKSUM) != 0;
  } else {
    checksumField = ICMP_CHECKSUM;
    hasChecksum = true;
  }
  if (hasChecksum) {
    const oldSum = <u32>load<u16>(il4 + checksumField);
    let newSum: u32;
    if (innerProto == PROTO_ICMP) {
      newSum = checksumReplace16(oldSum, oldPort, newPort);
    } else {
      newSum = checksumReplace32(oldSum, oldAddr, newAddr);
      newSum = checksumReplace16(newSum, oldPort, newPort);
      if (innerProto == PROTO_UDP && newSum == 0) newSum = 0xffff;
    }
    store<u16>(il4 + checksumField, <u16>newSum);
    icmpSum = checksumReplace16(icmpSum, oldSum, newSum);
  }
  if (!partial) store<u16>(l4 + ICMP_CHECKSUM, <u16>icmpSum);
  count(C_ICMP_ERRORS_TRANSLATED);
  return V_FORWARD;
}
