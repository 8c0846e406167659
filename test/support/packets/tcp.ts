import { PacketBuildError, readU16, readU32, writeU16, writeU32 } from './addresses.ts';
import { internetChecksum, pseudoHeaderSum } from './checksum.ts';
import { buildIpv4, IP_PROTO_TCP, type Ipv4Fields } from './ipv4.ts';

// TCP header (RFC 793 section 3.1; flags as in RFC 3168).
//
//    0                   1                   2                   3
//   |          Source Port          |       Destination Port        |
//   |                        Sequence Number                        |
//   |                    Acknowledgment Number                      |
//   |  Data |     |C|E|U|A|P|R|S|F|                               |
//   | Offset| Res |W|C|R|C|S|S|Y|I|            Window             |
//   |           Checksum            |         Urgent Pointer        |
//   |                    Options                    |    Padding    |

export const TCP_HEADER_LEN = 20;
export const TCP_CHECKSUM_OFFSET = 16;
export const TcpFlag = {
  fin: 0x01,
  syn: 0x02,
  rst: 0x04,
  psh: 0x08,
  ack: 0x10,
  urg: 0x20,
  ece: 0x40,
  cwr: 0x80,
} as const;

export interface TcpFields {
  srcPort: number;
  dstPort: number;
  seq?: number;
  ack?: number;
  /** Bitwise OR of TcpFlag values. */
  flags: number;
  window?: number;
  urgentPointer?: number;
  /** Raw option bytes, padded with zeros (End of Option List) to a multiple of 4. */
  options?: Uint8Array;
  payload?: Uint8Array;
  /** Written as given instead of computed (malformed packets). */
  checksum?: number;
  /** Overrides the data offset field, in bytes. */
  dataOffset?: number;
}

export interface TcpHeader {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  dataOffset: number;
  flags: number;
  window: number;
  checksum: number;
  urgentPointer: number;
  options: Uint8Array;
  payload: Uint8Array;
}

/** A TCP segment whose checksum covers the pseudo-header of src and dst. */
export function buildTcp(src: string, dst: string, fields: TcpFields): Uint8Array {
  const options = fields.options ?? new Uint8Array(0);
  const headerLength = TCP_HEADER_LEN + Math.ceil(options.length / 4) * 4;
  if (headerLength > 60) throw new PacketBuildError('BAD_OPTIONS', 'TCP options exceed 40 bytes');
  const payload = fields.payload ?? new Uint8Array(0);
  const segment = new Uint8Array(headerLength + payload.length);
  writeU16(segment, 0, fields.srcPort);
  writeU16(segment, 2, fields.dstPort);
  writeU32(segment, 4, fields.seq ?? 0);
  writeU32(segment, 8, fields.ack ?? 0);
  segment[12] = ((fields.dataOffset ?? headerLength) / 4) << 4;
  segment[13] = fields.flags;
  writeU16(segment, 14, fields.window ?? 65535);
  writeU16(segment, 18, fields.urgentPointer ?? 0);
  segment.set(options, TCP_HEADER_LEN);
  segment.set(payload, headerLength);
  const checksum =
    fields.checksum ??
    internetChecksum(
      segment,
      0,
      segment.length,
      pseudoHeaderSum(src, dst, IP_PROTO_TCP, segment.length),
    );
  writeU16(segment, TCP_CHECKSUM_OFFSET, checksum);
  return segment;
}

export function parseTcp(segment: Uint8Array): TcpHeader {
  if (segment.length < TCP_HEADER_LEN) {
    throw new PacketBuildError('SHORT_PACKET', `${segment.length} bytes cannot hold TCP`);
  }
  const dataOffset = (segment[12]! >>> 4) * 4;
  return {
    srcPort: readU16(segment, 0),
    dstPort: readU16(segment, 2),
    seq: readU32(segment, 4),
    ack: readU32(segment, 8),
    dataOffset,
    flags: segment[13]!,
    window: readU16(segment, 14),
    checksum: readU16(segment, 16),
    urgentPointer: readU16(segment, 18),
    options: segment.slice(TCP_HEADER_LEN, Math.max(TCP_HEADER_LEN, dataOffset)),
    payload: segment.slice(Math.max(TCP_HEADER_LEN, dataOffset)),
  };
}

/** IPv4 + TCP in one go; the IP fields' protocol is set to TCP. */
export function buildTcpPacket(ip: Omit<Ipv4Fields, 'protocol'>, tcp: TcpFields): Uint8Array {
  return buildIpv4({ ...ip, protocol: IP_PROTO_TCP }, buildTcp(ip.src, ip.dst, tcp));
}

/** An MSS option (RFC 793, kind 2) followed by NOP NOP and SACK-permitted (RFC 2018). */
export function mssAndSackOptions(mss: number): Uint8Array {
  return Uint8Array.of(2, 4, (mss >>> 8) & 0xff, mss & 0xff, 1, 1, 4, 2);
}
