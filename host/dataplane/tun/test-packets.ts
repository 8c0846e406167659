import { formatIPv4, parseIPv4 } from '../../model/cidr.ts';

/**
 * Packet helpers for tests of the TUN path: build an ICMP echo request, read a few IPv4
 * fields, and "reflect" a packet (swap its IPv4 source and destination) so that a TUN
 * loop turns a namespace's outbound traffic into inbound traffic for its own sockets.
 * Swapping keeps every checksum valid, the L4 pseudo-header sum included (a ones'
 * complement sum does not depend on order), so NEEDS_CSUM and GSO packets go back as-is.
 */

export function ipv4ToBytes(address: string): number[] {
  const value = parseIPv4(address);
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255];
}

export function bytesToIpv4(bytes: Uint8Array, offset: number): string {
  return formatIPv4(new DataView(bytes.buffer, bytes.byteOffset).getUint32(offset));
}

/** RFC 1071 checksum of `bytes[start, end)`. */
export function internetChecksum(bytes: Uint8Array, start: number, end: number): number {
  let sum = 0;
  for (let i = start; i + 1 < end; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!;
  if ((end - start) % 2 === 1) sum += bytes[end - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** An IPv4 ICMP echo request (RFC 792) preceded by `vnetHdrLen` zero bytes. */
export function icmpEchoRequest(
  source: string,
  destination: string,
  identifier: number,
  sequence: number,
  payload: Uint8Array,
  vnetHdrLen: number,
): Uint8Array {
  const total = 20 + 8 + payload.byteLength;
  const packet = new Uint8Array(vnetHdrLen + total);
  const ip = packet.subarray(vnetHdrLen);
  const view = new DataView(ip.buffer, ip.byteOffset, total);
  view.setUint8(0, 0x45);
  view.setUint16(2, total);
  view.setUint16(4, identifier);
  view.setUint8(8, 64); // TTL
  view.setUint8(9, 1); // ICMP
  ip.set(ipv4ToBytes(source), 12);
  ip.set(ipv4ToBytes(destination), 16);
  view.setUint16(10, internetChecksum(ip, 0, 20));
  view.setUint8(20, 8); // echo request
  view.setUint16(24, identifier);
  view.setUint16(26, sequence);
  ip.set(payload, 28);
  view.setUint16(22, internetChecksum(ip, 20, total));
  return packet;
}

/** Swaps the IPv4 source and destination of the packet at `offset` (the IPv4 header). */
export function reflectIpv4(bytes: Uint8Array, offset: number): void {
  for (let i = 0; i < 4; i++) {
    const a = offset + 12 + i;
    const b = offset + 16 + i;
    const t = bytes[a]!;
    bytes[a] = bytes[b]!;
    bytes[b] = t;
  }
}
