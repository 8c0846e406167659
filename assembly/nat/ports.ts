// Port bitmaps: one bit per port (or ICMP identifier) per egress slot and protocol.
// A set bit means a mapping holds the port. 8 KiB per slot and protocol, so a full scan
// is 2,048 word loads at worst; `findFreePort` skips full words 32 ports at a time.

import { PROTO_ICMP, PROTO_TCP } from '../wire/ipv4';
import { PORT_BITMAP_BYTES, PROTOCOL_KINDS, portBitmaps } from '../layout';

@inline export function protocolKind(proto: u32): u32 {
  return proto == PROTO_TCP ? 0 : proto == PROTO_ICMP ? 2 : 1;
}

@inline function bitmapOf(slot: u32, proto: u32): usize {
  return portBitmaps + <usize>(slot * PROTOCOL_KINDS + protocolKind(proto)) * PORT_BITMAP_BYTES;
}

@inline export function portInUse(slot: u32, proto: u32, port: u32): bool {
  const word = load<u32>(bitmapOf(slot, proto) + (<usize>(port >> 5) << 2));
  return (word & (1 << (port & 31))) != 0;
}

@inline export function takePort(slot: u32, proto: u32, port: u32): void {
  const p = bitmapOf(slot, proto) + (<usize>(port >> 5) << 2);
  store<u32>(p, load<u32>(p) | (1 << (port & 31)));
}

@inline export function releasePort(slot: u32, proto: u32, port: u32): void {
  const p = bitmapOf(slot, proto) + (<usize>(port >> 5) << 2);
  store<u32>(p, load<u32>(p) & ~(1 << (port & 31)));
}

/** How many ports of a slot and protocol are taken (for the port-use metric). */
export function countPortsInUse(slot: u32, proto: u32): u32 {
  const bitmap = bitmapOf(slot, proto);
  let taken: u32 = 0;
  for (let word: u32 = 0; word < PORT_BITMAP_BYTES >> 2; word++) {
    taken += popcnt<u32>(load<u32>(bitmap + (<usize>word << 2)));
  }
  return taken;
}

/** First free port in [from, to] (host order, from <= to), or -1. */
function scanRange(bitmap: usize, from: u32, to: u32): i32 {
  let port = from;
  while (port <= to) {
    const word = load<u32>(bitmap + (<usize>(port >> 5) << 2));
    // Free bits at or above `port` within this word.
    const free = ~word & (0xffffffff << (port & 31));
    if (free != 0) {
      const found = (port & ~31) + ctz<u32>(free);
      return found <= to ? <i32>found : -1;
    }
    port = (port & ~31) + 32;
  }
  return -1;
}

/**
 * The first free port scanning upward from `start`, wrapping within [min, max]
 * (assembly/README.md, "Mappings and ports"), or -1 when every port is taken.
 */
export function findFreePort(slot: u32, proto: u32, min: u32, max: u32, start: u32): i32 {
  const bitmap = bitmapOf(slot, proto);
  const found = scanRange(bitmap, start, max);
  if (found >= 0) return found;
  if (start == min) return -1;
  return scanRange(bitmap, min, start - 1);
}
