import { concatBytes, PacketBuildError, writeU16 } from './addresses.ts';
import { onesComplementSum, pseudoHeaderSum } from './checksum.ts';
import { IP_PROTO_TCP, IP_PROTO_UDP, type Ipv4Fields, parseIpv4 } from './ipv4.ts';
import { buildTcpPacket, TCP_CHECKSUM_OFFSET, type TcpFields } from './tcp.ts';
import { UDP_CHECKSUM_OFFSET } from './udp.ts';

// virtio_net_hdr (include/uapi/linux/virtio_net.h), little-endian, before each packet of
// a TUN opened with IFF_VNET_HDR:
//
//   0 flags | 1 gso_type | 2 hdr_len | 4 gso_size | 6 csum_start | 8 csum_offset
//   | 10 num_buffers (only in the 12-byte form, VIRTIO_NET_F_MRG_RXBUF)

export const VNET_F_NEEDS_CSUM = 1;
export const VNET_F_DATA_VALID = 2;
export const VnetGso = { none: 0, tcpv4: 1, udp: 3, tcpv6: 4, udpL4: 5, ecn: 0x80 } as const;

export type VnetHdrLen = 0 | 10 | 12;

export interface VnetHeader {
  flags: number;
  gsoType: number;
  hdrLen: number;
  gsoSize: number;
  csumStart: number;
  csumOffset: number;
  numBuffers: number;
}

export const emptyVnetHeader: VnetHeader = {
  flags: 0,
  gsoType: 0,
  hdrLen: 0,
  gsoSize: 0,
  csumStart: 0,
  csumOffset: 0,
  numBuffers: 0,
};

function writeU16LE(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = value & 0xff;
  bytes[offset + 1] = (value >>> 8) & 0xff;
}

function readU16LE(bytes: Uint8Array, offset: number): number {
  return bytes[offset]! | (bytes[offset + 1]! << 8);
}

export function buildVnetHeader(header: Partial<VnetHeader>, length: VnetHdrLen): Uint8Array {
  const full = { ...emptyVnetHeader, ...header };
  const bytes = new Uint8Array(length);
  if (length === 0) return bytes;
  bytes[0] = full.flags;
  bytes[1] = full.gsoType;
  writeU16LE(bytes, 2, full.hdrLen);
  writeU16LE(bytes, 4, full.gsoSize);
  writeU16LE(bytes, 6, full.csumStart);
  writeU16LE(bytes, 8, full.csumOffset);
  if (length === 12) writeU16LE(bytes, 10, full.numBuffers);
  return bytes;
}

export function parseVnetHeader(bytes: Uint8Array, length: VnetHdrLen): VnetHeader {
  if (length === 0) return { ...emptyVnetHeader };
  if (bytes.length < length) {
    throw new PacketBuildError(
      'SHORT_PACKET',
      `${bytes.length} bytes cannot hold the virtio header`,
    );
  }
  return {
    flags: bytes[0]!,
    gsoType: bytes[1]!,
    hdrLen: readU16LE(bytes, 2),
    gsoSize: readU16LE(bytes, 4),
    csumStart: readU16LE(bytes, 6),
    csumOffset: readU16LE(bytes, 8),
    numBuffers: length === 12 ? readU16LE(bytes, 10) : 0,
  };
}

/** Prefixes a packet with a virtio header (all zero unless given). */
export function withVnetHeader(
  packet: Uint8Array,
  length: VnetHdrLen,
  header: Partial<VnetHeader> = {},
): Uint8Array {
  return concatBytes(buildVnetHeader(header, length), packet);
}

/** Splits a slot into its virtio header and the IP packet after it. */
export function splitVnet(
  slot: Uint8Array,
  length: VnetHdrLen,
): { header: VnetHeader; packet: Uint8Array } {
  return { header: parseVnetHeader(slot, length), packet: slot.subarray(length) };
}

/**
 * Turns a TCP or UDP packet with a full checksum into what Linux hands over for
 * CHECKSUM_PARTIAL: the L4 checksum field holds the folded pseudo-header sum (not
 * complemented; tcp_v4_send_check, udp4_hwcsum), and the virtio header says
 * NEEDS_CSUM with csum_start at the L4 header. Returns the slot (header + packet).
 */
export function toNeedsCsum(
  packet: Uint8Array,
  length: Exclude<VnetHdrLen, 0>,
  extra: Partial<VnetHeader> = {},
): Uint8Array {
  const ip = parseIpv4(packet);
  const checksumOffset = checksumOffsetFor(ip.protocol);
  const copy = packet.slice();
  const l4Length = ip.totalLength - ip.headerLength;
  writeU16(
    copy,
    ip.headerLength + checksumOffset,
    pseudoHeaderSum(ip.src, ip.dst, ip.protocol, l4Length),
  );
  return withVnetHeader(copy, length, {
    flags: VNET_F_NEEDS_CSUM,
    csumStart: ip.headerLength,
    csumOffset: checksumOffset,
    ...extra,
  });
}

function checksumOffsetFor(protocol: number): number {
  if (protocol === IP_PROTO_TCP) return TCP_CHECKSUM_OFFSET;
  if (protocol === IP_PROTO_UDP) return UDP_CHECKSUM_OFFSET;
  throw new PacketBuildError(
    'BAD_PROTOCOL',
    `NEEDS_CSUM is for TCP and UDP, not protocol ${protocol}`,
  );
}

/**
 * A TSO super-packet as the kernel passes it to a TUN with TUN_F_TSO4: one IPv4+TCP
 * header over up to 64 KiB of payload, NEEDS_CSUM, gso_type TCPV4, gso_size the MSS,
 * hdr_len the length of the headers. The device (or the kernel on write) cuts it into
 * MSS-sized segments.
 */
export function buildGsoTcpPacket(
  ip: Omit<Ipv4Fields, 'protocol'>,
  tcp: TcpFields,
  mss: number,
  length: Exclude<VnetHdrLen, 0>,
): Uint8Array {
  const packet = buildTcpPacket(ip, tcp);
  const header = parseIpv4(packet);
  const tcpHeaderLength = (packet[header.headerLength + 12]! >>> 4) * 4;
  return toNeedsCsum(packet, length, {
    gsoType: VnetGso.tcpv4,
    gsoSize: mss,
    hdrLen: header.headerLength + tcpHeaderLength,
  });
}

/**
 * Does what a device does with a NEEDS_CSUM packet: sums from csum_start to the end of
 * the datagram (the field included, holding the pseudo-header sum) and writes the
 * complement at csum_start + csum_offset. A UDP result of zero is sent as 0xffff.
 * Returns a new packet (without the virtio header).
 */
export function finishChecksum(slot: Uint8Array, length: Exclude<VnetHdrLen, 0>): Uint8Array {
  const { header, packet } = splitVnet(slot, length);
  const copy = packet.slice();
  if ((header.flags & VNET_F_NEEDS_CSUM) === 0) return copy;
  const ip = parseIpv4(copy);
  const field = header.csumStart + header.csumOffset;
  if (field + 2 > ip.totalLength) {
    throw new PacketBuildError(
      'BAD_CSUM_OFFSET',
      `checksum field at ${field} is past the datagram`,
    );
  }
  let checksum = ~onesComplementSum(copy, header.csumStart, ip.totalLength) & 0xffff;
  if (ip.protocol === IP_PROTO_UDP && checksum === 0) checksum = 0xffff;
  writeU16(copy, field, checksum);
  return copy;
}
