// Header rewrites with their checksum updates. Addresses and ports are raw (as loaded);
// checksums are updated incrementally (wire/checksum.ts), never recomputed, so a packet
// that arrived with a wrong checksum leaves with a wrong checksum.

import {
  checksumReplace16,
  checksumReplace32,
  checksumReplace48,
  partialReplace32,
} from '../wire/checksum';
import { IP_CHECKSUM, PROTO_ICMP, PROTO_TCP } from '../wire/ipv4';
import { ICMP_CHECKSUM, TCP_CHECKSUM, UDP_CHECKSUM } from '../wire/l4';

/** Replaces the address at `ip + field` and updates the IPv4 header checksum. */
@inline export function rewriteAddress(ip: usize, field: usize, newAddr: u32): u32 {
  const oldAddr = load<u32>(ip + field);
  store<u32>(ip + field, newAddr);
  store<u16>(ip + IP_CHECKSUM, <u16>checksumReplace32(<u32>load<u16>(ip + IP_CHECKSUM), oldAddr, newAddr));
  return oldAddr;
}

/**
 * The transport half of a translation: the port (or ICMP echo identifier) at
 * `portField` changes from oldPort to newPort, and the L4 checksum follows the address
 * change oldAddr -> newAddr (TCP and UDP cover it through the pseudo-header, ICMP does
 * not). `partial`: the checksum field holds a CHECKSUM_PARTIAL pseudo-header sum
 * (wire/checksum.ts).
 */
export function rewriteTransport(
  l4: usize,
  proto: u32,
  portField: usize,
  oldPort: u32,
  newPort: u32,
  oldAddr: u32,
  newAddr: u32,
  partial: bool,
): void {
  store<u16>(l4 + portField, <u16>newPort);
  if (proto == PROTO_ICMP) {
    // No pseudo-header; a partial ICMP sum is finished over the new bytes by the device.
    if (!partial) {
      const c = l4 + ICMP_CHECKSUM;
      store<u16>(c, <u16>checksumReplace16(<u32>load<u16>(c), oldPort, newPort));
    }
    return;
  }
  const c = l4 + (proto == PROTO_TCP ? TCP_CHECKSUM : UDP_CHECKSUM);
  const old = <u32>load<u16>(c);
  if (partial) {
    store<u16>(c, <u16>partialReplace32(old, oldAddr, newAddr));
    return;
  }
  // RFC 768: a zero UDP checksum means "none" and stays so.
  if (proto != PROTO_TCP && old == 0) return;
  let updated = checksumReplace48(old, oldAddr, newAddr, oldPort, newPort);
  // RFC 768: a computed zero is sent as all ones.
  if (proto != PROTO_TCP && updated == 0) updated = 0xffff;
  store<u16>(c, <u16>updated);
}
