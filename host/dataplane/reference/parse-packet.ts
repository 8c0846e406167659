import { Verdict } from '../nat-engine.ts';
import { readU16, readU16LE, readU32 } from './bytes.ts';
import { PROTO_ICMP, PROTO_TCP, PROTO_UDP } from './flow-state.ts';

/**
 * Reads one slot (virtio header + IPv4 packet) and judges it: either a drop verdict or a
 * record of what the translation needs. All offsets in the record are from the start of
 * the slot. Nothing here knows about flows or policies.
 *
 * Checks, in this order (the first failing one gives the verdict):
 *  1. the slot holds the virtio header                                   malformed
 *  2. IPv4 (assembly/wire/ipv4.ts checkIPv4): at least 20 bytes; version 6 is
 *     unsupported, any other version but 4 malformed; 20 <= header length <= bytes;
 *     header length <= total length <= bytes (bytes past the total length are
 *     left alone)                                                        malformed/unsupported
 *  3. protocol TCP, UDP or ICMP                                          unsupported
 *  4. virtio header: gso_type (ECN bit aside) NONE, TCPV4 with TCP, UDP or UDP_L4 with
 *     UDP; nothing else of the header is judged (the kernel checks it on write)  malformed
 *  5. a later fragment (offset > 0) stops here: it has no L4 header
 *  6. L4: TCP 20 <= data offset <= L4 bytes; UDP 8 bytes (length field unchecked);
 *     ICMP 8 bytes                                                        malformed
 *  7. ICMP type: echo (0, 8) or error (3, 11, 12)                        unsupported
 *  8. ICMP error quote (assembly/nat/icmp-error.ts): inner IPv4 header with version 4,
 *     header length >= 20, header + 8 bytes quoted                       malformed
 *     inner not a later fragment, inner protocol TCP/UDP or ICMP echo    unsupported
 * Virtio flags other than NEEDS_CSUM are ignored.
 */

export const VNET_F_NEEDS_CSUM = 1;
export const GSO_NONE = 0;
export const GSO_TCPV4 = 1;
export const GSO_UDP = 3;
export const GSO_UDP_L4 = 5;
export const GSO_ECN = 0x80;

export const ICMP_ECHO_REPLY = 0;
export const ICMP_ECHO_REQUEST = 8;
const ICMP_ERRORS = new Set([3, 11, 12]);

export interface Ipv4Part {
  /** Offset of the IPv4 header in the slot (the virtio header length). */
  ip: number;
  headerLength: number;
  totalLength: number;
  proto: number;
  id: number;
  src: number;
  dst: number;
  moreFragments: boolean;
  /** The L4 checksum field holds a CHECKSUM_PARTIAL pseudo-header sum. */
  partial: boolean;
  gso: boolean;
}

/** TCP, UDP or ICMP echo: a tuple with ports (the echo identifier for ICMP). */
export interface TransportPacket extends Ipv4Part {
  kind: 'transport';
  l4: number;
  srcPort: number;
  dstPort: number;
  /** Slot offsets of the fields holding srcPort / dstPort; -1 where none exists. */
  srcPortField: number;
  dstPortField: number;
  /** Slot offset of the L4 checksum field. */
  checksumField: number;
  tcpFlags: number;
  echo: 'request' | 'reply' | null;
}

export interface IcmpErrorPacket extends Ipv4Part {
  kind: 'icmp-error';
  l4: number;
  /** Slot offset of the quoted IPv4 header. */
  quote: number;
  innerProto: number;
  innerSrc: number;
  innerDst: number;
  innerSrcPort: number;
  innerDstPort: number;
  innerL4: number;
  /** Quoted bytes of the inner L4 header and data. */
  innerL4Length: number;
}

export interface LaterFragment extends Ipv4Part {
  kind: 'later-fragment';
}

export type ParsedPacket =
  | { kind: 'drop'; verdict: Verdict; gso: boolean }
  | TransportPacket
  | IcmpErrorPacket
  | LaterFragment;

const drop = (verdict: Verdict, gso = false): ParsedPacket => ({ kind: 'drop', verdict, gso });

function l4ChecksumOffset(proto: number): number {
  return proto === PROTO_TCP ? 16 : proto === PROTO_UDP ? 6 : 2;
}

export function parsePacket(slot: Uint8Array, vnetHdrLen: number): ParsedPacket {
  if (slot.length < vnetHdrLen) return drop(Verdict.malformed);
  const ip = vnetHdrLen;
  const ipBytes = slot.length - ip;
  if (ipBytes < 20) return drop(Verdict.malformed);
  const version = slot[ip]! >>> 4;
  if (version === 6) return drop(Verdict.unsupported);
  if (version !== 4) return drop(Verdict.malformed);
  const headerLength = (slot[ip]! & 0x0f) * 4;
  if (headerLength < 20 || headerLength > ipBytes) return drop(Verdict.malformed);
  const totalLength = readU16(slot, ip + 2);
  if (totalLength < headerLength || totalLength > ipBytes) return drop(Verdict.malformed);
  const proto = slot[ip + 9]!;
  if (proto !== PROTO_TCP && proto !== PROTO_UDP && proto !== PROTO_ICMP) {
    return drop(Verdict.unsupported);
  }
  const flagsFragment = readU16(slot, ip + 6);
  const fragmentOffset = flagsFragment & 0x1fff;
  const moreFragments = (flagsFragment & 0x2000) !== 0;

  const gsoBase = vnetHdrLen > 0 ? slot[1]! & ~GSO_ECN : GSO_NONE;
  const gso = gsoBase !== GSO_NONE;
  if (gso) {
    const fits =
      (gsoBase === GSO_TCPV4 && proto === PROTO_TCP) ||
      ((gsoBase === GSO_UDP || gsoBase === GSO_UDP_L4) && proto === PROTO_UDP);
    if (!fits) return drop(Verdict.malformed, true);
  }
  const partial =
    vnetHdrLen > 0 && (slot[0]! & VNET_F_NEEDS_CSUM) !== 0 && readU16LE(slot, 6) === headerLength;

  const base: Ipv4Part = {
    ip,
    headerLength,
    totalLength,
    proto,
    id: readU16(slot, ip + 4),
    src: readU32(slot, ip + 12),
    dst: readU32(slot, ip + 16),
    moreFragments,
    partial,
    gso,
  };
  if (fragmentOffset !== 0) return { ...base, kind: 'later-fragment' };
  const parsed = parseTransport(base, slot);
  return parsed.kind === 'drop' ? { ...parsed, gso } : parsed;
}

/** Checks 6-8: the L4 header of a whole datagram or a first fragment. */
function parseTransport(base: Ipv4Part, slot: Uint8Array): ParsedPacket {
  const { proto, headerLength, totalLength } = base;
  const l4 = base.ip + headerLength;
  const l4Length = totalLength - headerLength;
  if (proto === PROTO_TCP) {
    if (l4Length < 20) return drop(Verdict.malformed);
    const dataOffset = (slot[l4 + 12]! >>> 4) * 4;
    if (dataOffset < 20 || dataOffset > l4Length) return drop(Verdict.malformed);
    return transport(base, slot, l4, slot[l4 + 13]!);
  }
  if (proto === PROTO_UDP) {
    // The length field is not checked: GSO and fragments make it differ (README).
    if (l4Length < 8) return drop(Verdict.malformed);
    return transport(base, slot, l4, 0);
  }
  if (l4Length < 8) return drop(Verdict.malformed);
  const type = slot[l4]!;
  if (type === ICMP_ECHO_REQUEST || type === ICMP_ECHO_REPLY) {
    const id = readU16(slot, l4 + 4);
    const request = type === ICMP_ECHO_REQUEST;
    return {
      ...base,
      kind: 'transport',
      l4,
      srcPort: request ? id : 0,
      dstPort: request ? 0 : id,
      srcPortField: request ? l4 + 4 : -1,
      dstPortField: request ? -1 : l4 + 4,
      checksumField: l4 + 2,
      tcpFlags: 0,
      echo: request ? 'request' : 'reply',
    };
  }
  if (!ICMP_ERRORS.has(type)) return drop(Verdict.unsupported);
  return parseQuote(base, slot, l4, l4Length);
}

function transport(
  base: Ipv4Part,
  slot: Uint8Array,
  l4: number,
  tcpFlags: number,
): TransportPacket {
  return {
    ...base,
    kind: 'transport',
    l4,
    srcPort: readU16(slot, l4),
    dstPort: readU16(slot, l4 + 2),
    srcPortField: l4,
    dstPortField: l4 + 2,
    checksumField: l4 + l4ChecksumOffset(base.proto),
    tcpFlags,
    echo: null,
  };
}

function parseQuote(base: Ipv4Part, slot: Uint8Array, l4: number, l4Length: number): ParsedPacket {
  const quote = l4 + 8;
  const quoteLength = l4Length - 8;
  if (quoteLength < 20) return drop(Verdict.malformed);
  if (slot[quote]! >>> 4 !== 4) return drop(Verdict.malformed);
  const innerHeaderLength = (slot[quote]! & 0x0f) * 4;
  if (innerHeaderLength < 20 || quoteLength < innerHeaderLength + 8) return drop(Verdict.malformed);
  if ((readU16(slot, quote + 6) & 0x1fff) !== 0) return drop(Verdict.unsupported);
  const innerProto = slot[quote + 9]!;
  const innerL4 = quote + innerHeaderLength;
  let innerSrcPort = 0;
  let innerDstPort = 0;
  if (innerProto === PROTO_TCP || innerProto === PROTO_UDP) {
    innerSrcPort = readU16(slot, innerL4);
    innerDstPort = readU16(slot, innerL4 + 2);
  } else if (innerProto === PROTO_ICMP) {
    const innerType = slot[innerL4]!;
    const id = readU16(slot, innerL4 + 4);
    if (innerType === ICMP_ECHO_REQUEST) innerSrcPort = id;
    else if (innerType === ICMP_ECHO_REPLY) innerDstPort = id;
    else return drop(Verdict.unsupported);
  } else {
    return drop(Verdict.unsupported);
  }
  return {
    ...base,
    kind: 'icmp-error',
    l4,
    quote,
    innerProto,
    innerSrc: readU32(slot, quote + 12),
    innerDst: readU32(slot, quote + 16),
    innerSrcPort,
    innerDstPort,
    innerL4,
    innerL4Length: quoteLength - innerHeaderLength,
  };
}
