import { readU16 } from './addresses.ts';
import { onesComplementSum, pseudoHeaderSum } from './checksum.ts';
import { ICMP_HEADER_LEN, IcmpType } from './icmp.ts';
import { IP_PROTO_ICMP, IP_PROTO_TCP, IP_PROTO_UDP, parseIpv4 } from './ipv4.ts';
import { finishChecksum, parseVnetHeader, VNET_F_NEEDS_CSUM, type VnetHdrLen } from './virtio.ts';

/**
 * Checks every checksum a receiver would check, by summing the whole thing (RFC 1071
 * section 2: a correct message sums to 0xffff). Returns what is wrong, empty when all is
 * well. Parts that cannot be verified are skipped: the L4 checksum of a fragment (it
 * covers the whole datagram) and the inner L4 checksum of an ICMP error whose quote is
 * not the whole inner datagram.
 */
export function checksumProblems(slot: Uint8Array, vnetHdrLen: VnetHdrLen = 0): string[] {
  let packet = slot.subarray(vnetHdrLen);
  if (vnetHdrLen !== 0 && (parseVnetHeader(slot, vnetHdrLen).flags & VNET_F_NEEDS_CSUM) !== 0) {
    packet = finishChecksum(slot, vnetHdrLen);
  }
  return datagramProblems(packet, '');
}

function datagramProblems(packet: Uint8Array, where: string): string[] {
  const problems: string[] = [];
  const ip = parseIpv4(packet);
  if (onesComplementSum(packet, 0, ip.headerLength) !== 0xffff) {
    problems.push(`${where}ipv4 header checksum`);
  }
  if (ip.fragmentOffset !== 0 || ip.moreFragments) return problems;
  const end = Math.min(ip.totalLength, packet.length);
  const l4 = packet.subarray(ip.headerLength, end);
  const pseudo = pseudoHeaderSum(ip.src, ip.dst, ip.protocol, l4.length);
  if (ip.protocol === IP_PROTO_TCP) {
    if (onesComplementSum(l4, 0, l4.length, pseudo) !== 0xffff)
      problems.push(`${where}tcp checksum`);
  } else if (ip.protocol === IP_PROTO_UDP) {
    const checksum = l4.length >= 8 ? readU16(l4, 6) : 0;
    if (checksum !== 0 && onesComplementSum(l4, 0, l4.length, pseudo) !== 0xffff) {
      problems.push(`${where}udp checksum`);
    }
  } else if (ip.protocol === IP_PROTO_ICMP) {
    if (onesComplementSum(l4) !== 0xffff) problems.push(`${where}icmp checksum`);
    const type = l4[0];
    const isError =
      type === IcmpType.destinationUnreachable ||
      type === IcmpType.timeExceeded ||
      type === IcmpType.parameterProblem;
    if (isError && where === '') problems.push(...quoteProblems(l4.subarray(ICMP_HEADER_LEN)));
  }
  return problems;
}

/** The quoted datagram of an ICMP error: its header always, its L4 when it is whole. */
function quoteProblems(quote: Uint8Array): string[] {
  if (quote.length < 20) return ['inner ipv4 header missing'];
  const headerLength = (quote[0]! & 0x0f) * 4;
  if (headerLength < 20 || headerLength > quote.length) return ['inner ipv4 header missing'];
  const totalLength = readU16(quote, 2);
  if (totalLength <= quote.length)
    return datagramProblems(quote.subarray(0, totalLength), 'inner ');
  return onesComplementSum(quote, 0, headerLength) === 0xffff ? [] : ['inner ipv4 header checksum'];
}
