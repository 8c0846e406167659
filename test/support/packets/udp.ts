import { PacketBuildError, readU16, writeU16 } from './addresses.ts';
import { internetChecksum, pseudoHeaderSum } from './checksum.ts';
import { buildIpv4, IP_PROTO_UDP, type Ipv4Fields } from './ipv4.ts';

// UDP header (RFC 768): source port | destination port | length | checksum.

export const UDP_HEADER_LEN = 8;
export const UDP_CHECKSUM_OFFSET = 6;

export interface UdpFields {
  srcPort: number;
  dstPort: number;
  payload?: Uint8Array;
  /** Written as given instead of computed; 0 means "no checksum" (RFC 768). */
  checksum?: number;
  /** Overrides the length field. */
  length?: number;
}

export interface UdpHeader {
  srcPort: number;
  dstPort: number;
  length: number;
  checksum: number;
  payload: Uint8Array;
}

/** The checksum RFC 768 sends: a computed zero goes out as 0xffff. */
export function udpChecksum(src: string, dst: string, datagram: Uint8Array): number {
  const copy = datagram.slice();
  writeU16(copy, UDP_CHECKSUM_OFFSET, 0);
  const checksum = internetChecksum(
    copy,
    0,
    copy.length,
    pseudoHeaderSum(src, dst, IP_PROTO_UDP, copy.length),
  );
  return checksum === 0 ? 0xffff : checksum;
}

export function buildUdp(src: string, dst: string, fields: UdpFields): Uint8Array {
  const payload = fields.payload ?? new Uint8Array(0);
  const datagram = new Uint8Array(UDP_HEADER_LEN + payload.length);
  writeU16(datagram, 0, fields.srcPort);
  writeU16(datagram, 2, fields.dstPort);
  writeU16(datagram, 4, fields.length ?? datagram.length);
  datagram.set(payload, UDP_HEADER_LEN);
  writeU16(datagram, UDP_CHECKSUM_OFFSET, fields.checksum ?? udpChecksum(src, dst, datagram));
  return datagram;
}

export function parseUdp(datagram: Uint8Array): UdpHeader {
  if (datagram.length < UDP_HEADER_LEN) {
    throw new PacketBuildError('SHORT_PACKET', `${datagram.length} bytes cannot hold UDP`);
  }
  return {
    srcPort: readU16(datagram, 0),
    dstPort: readU16(datagram, 2),
    length: readU16(datagram, 4),
    checksum: readU16(datagram, 6),
    payload: datagram.slice(UDP_HEADER_LEN),
  };
}

export function buildUdpPacket(ip: Omit<Ipv4Fields, 'protocol'>, udp: UdpFields): Uint8Array {
  return buildIpv4({ ...ip, protocol: IP_PROTO_UDP }, buildUdp(ip.src, ip.dst, udp));
}
