import {
  concatBytes,
  ipToBytes,
  PacketBuildError,
  readU16,
  readU32,
  u32ToIp,
  writeU16,
} from './addresses.ts';
import { internetChecksum } from './checksum.ts';

// IPv4 header (RFC 791 section 3.1).
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |Version|  IHL  |Type of Service|          Total Length         |
//   |         Identification        |Flags|      Fragment Offset    |
//   |  Time to Live |    Protocol   |         Header Checksum       |
//   |                       Source Address                          |
//   |                    Destination Address                        |
//   |                    Options                    |    Padding    |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

export const IPV4_HEADER_LEN = 20;
export const IP_PROTO_ICMP = 1;
export const IP_PROTO_TCP = 6;
export const IP_PROTO_UDP = 17;

export interface Ipv4Fields {
  src: string;
  dst: string;
  protocol: number;
  id?: number;
  ttl?: number;
  tos?: number;
  dontFragment?: boolean;
  moreFragments?: boolean;
  /** In bytes; a multiple of 8 (the field counts 8-byte units). */
  fragmentOffset?: number;
  /** Raw option bytes; padded with End-of-Option-List to a multiple of 4. */
  options?: Uint8Array;
  /** Overrides for malformed packets: written as given instead of computed. */
  totalLength?: number;
  headerChecksum?: number;
  version?: number;
  headerLength?: number;
}

export interface Ipv4Header {
  version: number;
  headerLength: number;
  tos: number;
  totalLength: number;
  id: number;
  dontFragment: boolean;
  moreFragments: boolean;
  /** In bytes. */
  fragmentOffset: number;
  ttl: number;
  protocol: number;
  headerChecksum: number;
  src: string;
  dst: string;
  options: Uint8Array;
}

/** Builds header + payload with a correct header checksum unless one is given. */
export function buildIpv4(fields: Ipv4Fields, payload: Uint8Array): Uint8Array {
  const options = fields.options ?? new Uint8Array(0);
  const paddedOptions = new Uint8Array(Math.ceil(options.length / 4) * 4);
  paddedOptions.set(options);
  const headerLength = IPV4_HEADER_LEN + paddedOptions.length;
  if (headerLength > 60) throw new PacketBuildError('BAD_OPTIONS', 'IPv4 options exceed 40 bytes');
  const fragmentOffset = fields.fragmentOffset ?? 0;
  if (fragmentOffset % 8 !== 0 || fragmentOffset > 0x1fff * 8) {
    throw new PacketBuildError('BAD_FRAGMENT_OFFSET', `fragment offset ${fragmentOffset}`);
  }
  const header = new Uint8Array(headerLength);
  header[0] = ((fields.version ?? 4) << 4) | ((fields.headerLength ?? headerLength) >>> 2);
  header[1] = fields.tos ?? 0;
  writeU16(header, 2, fields.totalLength ?? headerLength + payload.length);
  writeU16(header, 4, fields.id ?? 0);
  writeU16(
    header,
    6,
    (fields.dontFragment ? 0x4000 : 0) | (fields.moreFragments ? 0x2000 : 0) | (fragmentOffset / 8),
  );
  header[8] = fields.ttl ?? 64;
  header[9] = fields.protocol;
  header.set(ipToBytes(fields.src), 12);
  header.set(ipToBytes(fields.dst), 16);
  header.set(paddedOptions, 20);
  writeU16(header, 10, fields.headerChecksum ?? internetChecksum(header));
  return concatBytes(header, payload);
}

/** Reads the header fields; throws PacketBuildError when the bytes cannot hold them. */
export function parseIpv4(packet: Uint8Array): Ipv4Header {
  if (packet.length < IPV4_HEADER_LEN) {
    throw new PacketBuildError('SHORT_PACKET', `${packet.length} bytes cannot hold IPv4`);
  }
  const headerLength = (packet[0]! & 0x0f) * 4;
  if (headerLength < IPV4_HEADER_LEN || headerLength > packet.length) {
    throw new PacketBuildError('BAD_HEADER_LENGTH', `IPv4 header length ${headerLength}`);
  }
  const flags = readU16(packet, 6);
  return {
    version: packet[0]! >>> 4,
    headerLength,
    tos: packet[1]!,
    totalLength: readU16(packet, 2),
    id: readU16(packet, 4),
    dontFragment: (flags & 0x4000) !== 0,
    moreFragments: (flags & 0x2000) !== 0,
    fragmentOffset: (flags & 0x1fff) * 8,
    ttl: packet[8]!,
    protocol: packet[9]!,
    headerChecksum: readU16(packet, 10),
    src: u32ToIp(readU32(packet, 12)),
    dst: u32ToIp(readU32(packet, 16)),
    options: packet.slice(20, headerLength),
  };
}

/** The bytes after the IPv4 header, up to the total length. */
export function ipv4Payload(packet: Uint8Array): Uint8Array {
  const header = parseIpv4(packet);
  return packet.slice(header.headerLength, Math.min(header.totalLength, packet.length));
}

/** Recomputes the header checksum in place (after a test edits a field). */
export function fixIpv4Checksum(packet: Uint8Array): Uint8Array {
  const headerLength = (packet[0]! & 0x0f) * 4;
  writeU16(packet, 10, 0);
  writeU16(packet, 10, internetChecksum(packet, 0, headerLength));
  return packet;
}
