import { readU16, readU32, writeU16, writeU32 } from './bytes.ts';
import {
  addressChange,
  updateChecksum,
  updatePartialSum,
  updateUdpChecksum,
  type WordChange,
} from './checksum-update.ts';
import { PROTO_ICMP, PROTO_TCP, PROTO_UDP } from './flow-state.ts';
import type { IcmpErrorPacket, TransportPacket } from './parse-packet.ts';

/**
 * Header rewrites with their checksum updates (assembly/README.md, "Checksums"). Every
 * checksum is updated incrementally from the old and new field values, never
 * recomputed, so a checksum that was wrong stays exactly as wrong.
 */

const IP_CHECKSUM = 10;

export function addressOffset(field: 'src' | 'dst'): number {
  return field === 'src' ? 12 : 16;
}

/** Replaces an IPv4 address at `ip` and updates the header checksum. */
export function rewriteAddress(
  slot: Uint8Array,
  ip: number,
  field: 'src' | 'dst',
  address: number,
): number {
  const at = ip + addressOffset(field);
  const old = readU32(slot, at);
  writeU32(slot, at, address);
  writeU16(
    slot,
    ip + IP_CHECKSUM,
    updateChecksum(readU16(slot, ip + IP_CHECKSUM), addressChange(old, address)),
  );
  return old;
}

/**
 * Outbound: source becomes (address, port). Inbound: destination becomes (address,
 * port). The L4 checksum follows the port, and the address through the pseudo-header
 * (TCP, UDP; ICMP has none). A CHECKSUM_PARTIAL field takes the address change only.
 */
export function rewriteTransport(
  slot: Uint8Array,
  packet: TransportPacket,
  outbound: boolean,
  address: number,
  port: number,
): void {
  const oldAddress = rewriteAddress(slot, packet.ip, outbound ? 'src' : 'dst', address);
  const portField = outbound ? packet.srcPortField : packet.dstPortField;
  const oldPort = readU16(slot, portField);
  writeU16(slot, portField, port);
  const portChange: WordChange = [oldPort, port];
  const field = packet.checksumField;
  const checksum = readU16(slot, field);
  let updated: number;
  if (packet.proto === PROTO_ICMP) {
    // No pseudo-header; a partial ICMP sum is finished by the device over the new bytes.
    updated = packet.partial ? checksum : updateChecksum(checksum, [portChange]);
  } else if (packet.partial) {
    updated = updatePartialSum(checksum, addressChange(oldAddress, address));
  } else {
    const changes = [...addressChange(oldAddress, address), portChange];
    updated =
      packet.proto === PROTO_UDP
        ? updateUdpChecksum(checksum, changes)
        : updateChecksum(checksum, changes);
  }
  writeU16(slot, field, updated);
}

/**
 * An ICMP error about one of our flows (RFC 5508 section 3.2). Inbound (about a packet
 * we translated): the outer destination and the quote's source address and port become
 * the internal endpoint. Outbound (a pod reports on a reply it got): the outer source
 * and the quote's destination address and port become the egress endpoint. Updated: the
 * outer IPv4 checksum, the quote's IPv4 checksum, the quote's L4 checksum when the quote
 * holds it (a zero UDP checksum stays zero), and the ICMP checksum over all the quote's
 * changes (unless it is a CHECKSUM_PARTIAL sum, which the device finishes).
 */
export function rewriteIcmpError(
  slot: Uint8Array,
  packet: IcmpErrorPacket,
  inbound: boolean,
  address: number,
  port: number,
): void {
  rewriteAddress(slot, packet.ip, inbound ? 'dst' : 'src', address);
  const icmpChanges: WordChange[] = [];

  const innerField = inbound ? 'src' : 'dst';
  const innerIpChecksum = readU16(slot, packet.quote + IP_CHECKSUM);
  const oldInnerAddress = rewriteAddress(slot, packet.quote, innerField, address);
  icmpChanges.push(...addressChange(oldInnerAddress, address));
  icmpChanges.push([innerIpChecksum, readU16(slot, packet.quote + IP_CHECKSUM)]);

  // The translated "port": TCP/UDP source (inbound) or destination (outbound) port, or
  // the quoted echo's identifier.
  const portField =
    packet.innerProto === PROTO_ICMP ? packet.innerL4 + 4 : packet.innerL4 + (inbound ? 0 : 2);
  const oldPort = readU16(slot, portField);
  writeU16(slot, portField, port);
  icmpChanges.push([oldPort, port]);

  const innerChecksumField =
    packet.innerL4 +
    (packet.innerProto === PROTO_TCP ? 16 : packet.innerProto === PROTO_UDP ? 6 : 2);
  const quoteHoldsChecksum = packet.innerL4Length >= innerChecksumField - packet.innerL4 + 2;
  if (quoteHoldsChecksum) {
    const oldSum = readU16(slot, innerChecksumField);
    let newSum: number;
    if (packet.innerProto === PROTO_ICMP) {
      newSum = updateChecksum(oldSum, [[oldPort, port]]);
    } else {
      const changes = [...addressChange(oldInnerAddress, address), [oldPort, port] as const];
      newSum =
        packet.innerProto === PROTO_UDP
          ? updateUdpChecksum(oldSum, changes)
          : updateChecksum(oldSum, changes);
    }
    // A zero UDP checksum is not touched at all, so it adds nothing to the ICMP sum.
    if (!(packet.innerProto === PROTO_UDP && oldSum === 0)) {
      writeU16(slot, innerChecksumField, newSum);
      icmpChanges.push([oldSum, newSum]);
    }
  }
  if (!packet.partial) {
    const icmpChecksum = packet.l4 + 2;
    writeU16(slot, icmpChecksum, updateChecksum(readU16(slot, icmpChecksum), icmpChanges));
  }
}
