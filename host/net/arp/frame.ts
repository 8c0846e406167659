import { formatIPv4, parseIPv4 } from '../../model/cidr.ts';

/**
 * Ethernet ARP frames for IPv4 (RFC 826), as an AF_PACKET SOCK_RAW socket sends and
 * receives them: Ethernet header included, no FCS, no padding required on send.
 *
 *  0                   6                   12        14
 *  +-------------------+-------------------+---------+
 *  | destination MAC   | source MAC        | 0x0806  |             Ethernet
 *  +---------+---------+----+----+---------+---------+
 *  | htype=1 | ptype=0x0800 |hlen|plen| oper         |             ARP, at 14
 *  +---------+---------+----+----+---------+---------+-------------+
 *  | sender hardware address (6)  | sender protocol address (4)    |
 *  | target hardware address (6)  | target protocol address (4)    |
 *  +------------------------------+--------------------------------+ 42 bytes
 *
 * Reading is separate from judging: `parseArpFrame` only checks that the frame is an
 * Ethernet/IPv4 ARP packet and returns its fields; the responder decides what to do.
 */
export const ETH_DST = 0;
export const ETH_SRC = 6;
export const ETH_TYPE = 12;
export const ETH_HEADER_LEN = 14;
const ARP = ETH_HEADER_LEN;
export const HTYPE = ARP + 0;
export const PTYPE = ARP + 2;
export const HLEN = ARP + 4;
export const PLEN = ARP + 5;
export const OPER = ARP + 6;
export const SHA = ARP + 8;
export const SPA = ARP + 14;
export const THA = ARP + 18;
export const TPA = ARP + 24;
export const ARP_FRAME_LEN = TPA + 4;

export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_IPV4 = 0x0800;
export const HTYPE_ETHERNET = 1;
export const ARP_REQUEST = 1;
export const ARP_REPLY = 2;

export const BROADCAST_MAC = 'ff:ff:ff:ff:ff:ff';
export const ZERO_MAC = '00:00:00:00:00:00';

export interface ArpFrame {
  ethDestination: string;
  ethSource: string;
  operation: number;
  senderMac: string;
  senderIp: string;
  targetMac: string;
  targetIp: string;
}

/** The frame's fields, or null when it is not an Ethernet/IPv4 ARP packet. */
export function parseArpFrame(frame: Uint8Array, length = frame.byteLength): ArpFrame | null {
  if (length < ARP_FRAME_LEN || length > frame.byteLength) return null;
  const u16 = (at: number) => (frame[at]! << 8) | frame[at + 1]!;
  if (u16(ETH_TYPE) !== ETHERTYPE_ARP) return null;
  if (u16(HTYPE) !== HTYPE_ETHERNET || u16(PTYPE) !== ETHERTYPE_IPV4) return null;
  if (frame[HLEN] !== 6 || frame[PLEN] !== 4) return null;
  return {
    ethDestination: readMac(frame, ETH_DST),
    ethSource: readMac(frame, ETH_SRC),
    operation: u16(OPER),
    senderMac: readMac(frame, SHA),
    senderIp: readIpv4(frame, SPA),
    targetMac: readMac(frame, THA),
    targetIp: readIpv4(frame, TPA),
  };
}

/** A 42-byte frame holding `arp`. */
export function buildArpFrame(arp: ArpFrame): Uint8Array {
  const frame = new Uint8Array(ARP_FRAME_LEN);
  writeMac(frame, ETH_DST, arp.ethDestination);
  writeMac(frame, ETH_SRC, arp.ethSource);
  frame[ETH_TYPE] = ETHERTYPE_ARP >> 8;
  frame[ETH_TYPE + 1] = ETHERTYPE_ARP & 0xff;
  frame[HTYPE + 1] = HTYPE_ETHERNET;
  frame[PTYPE] = ETHERTYPE_IPV4 >> 8;
  frame[HLEN] = 6;
  frame[PLEN] = 4;
  frame[OPER] = arp.operation >> 8;
  frame[OPER + 1] = arp.operation & 0xff;
  writeMac(frame, SHA, arp.senderMac);
  writeIpv4(frame, SPA, arp.senderIp);
  writeMac(frame, THA, arp.targetMac);
  writeIpv4(frame, TPA, arp.targetIp);
  return frame;
}

export function readMac(bytes: Uint8Array, offset: number): string {
  const parts: string[] = [];
  for (let i = 0; i < 6; i++) parts.push(bytes[offset + i]!.toString(16).padStart(2, '0'));
  return parts.join(':');
}

export function macToBytes(mac: string): Uint8Array {
  const parts = mac.split(':');
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) {
    throw new RangeError(`not a MAC address: ${JSON.stringify(mac)}`);
  }
  return Uint8Array.from(parts, (p) => Number.parseInt(p, 16));
}

function writeMac(bytes: Uint8Array, offset: number, mac: string): void {
  bytes.set(macToBytes(mac), offset);
}

function readIpv4(bytes: Uint8Array, offset: number): string {
  return formatIPv4(new DataView(bytes.buffer, bytes.byteOffset).getUint32(offset));
}

/** Throws CidrError EGW_BAD_IP for anything but a strict dotted quad. */
function writeIpv4(bytes: Uint8Array, offset: number, ip: string): void {
  new DataView(bytes.buffer, bytes.byteOffset).setUint32(offset, parseIPv4(ip));
}
