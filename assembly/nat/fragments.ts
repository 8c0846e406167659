// IPv4 fragments. Only the first fragment carries the ports, so the first fragment
// decides the translation and records it under the datagram's key (src, dst, id, proto)
// as the fragments arrive (before translation); later fragments get the same address
// rewrite. A later fragment that comes before its first is held, and the first fragment
// releases it (assembly/README.md, "Fragments").
//
//   entries: FRAG_SETS sets of FRAG_WAYS (4-way set associative, no chains):
//     0 src | 4 dst | 8 id u16 | 10 proto u8 | 11 rewrites-destination u8
//     | 12 new address | 16 expiry | 20 live
//   held: HELD_SLOTS slots of HELD_STRIDE bytes:
//     0 live | 4 src | 8 dst | 12 id u16 | 14 proto u8 | 16 expiry | 20 length
//     | 24 arrival sequence | 32 the packet as it came (with its virtio header)

import { count, ctl, S_EMIT_USED, S_HELD_SEQ, setCtl } from '../control';
import { C_DROP_BASE, C_FRAGMENTS_EXPIRED, C_FRAGMENTS_RELEASED } from '../counters';
import {
  EMIT_CAPACITY,
  emitBase,
  FRAG_ENTRY_SIZE,
  FRAG_SETS,
  FRAG_WAYS,
  fragEntries,
  fragmentMs,
  HELD_HEADER,
  HELD_MAX_BYTES,
  HELD_SLOTS,
  HELD_STRIDE,
  held,
  seed,
  vnetHdrLen,
} from '../layout';
import { V_FRAGMENT_DROPPED, V_HELD } from '../verdict';
import { IP_DST, IP_SRC } from '../wire/ipv4';
import { isExpired } from './flow-state';
import { mix32 } from './hash';
import { rewriteAddress } from './translate';

const E_SRC: usize = 0;
const E_DST: usize = 4;
const E_ID: usize = 8;
const E_PROTO: usize = 10;
const E_REWRITES_DST: usize = 11;
const E_NEW_ADDR: usize = 12;
const E_EXPIRY: usize = 16;
const E_LIVE: usize = 20;

const H_LIVE: usize = 0;
const H_SRC: usize = 4;
const H_DST: usize = 8;
const H_ID: usize = 12;
const H_PROTO: usize = 14;
const H_EXPIRY: usize = 16;
const H_LENGTH: usize = 20;
const H_SEQ: usize = 24;

@inline function setOf(src: u32, dst: u32, id: u32, proto: u32): usize {
  const h = mix32(mix32(src ^ seed) ^ dst) ^ ((id << 8) | proto);
  return fragEntries + <usize>(mix32(h) & (FRAG_SETS - 1)) * FRAG_WAYS * FRAG_ENTRY_SIZE;
}

@inline function entryMatches(e: usize, src: u32, dst: u32, id: u32, proto: u32): bool {
  return (
    load<u32>(e, E_LIVE) != 0 &&
    load<u32>(e, E_SRC) == src &&
    load<u32>(e, E_DST) == dst &&
    <u32>load<u16>(e, E_ID) == id &&
    <u32>load<u8>(e, E_PROTO) == proto
  );
}

/**
 * Rewrites a later fragment by its datagram's entry. Returns false when no live entry
 * exists (the caller holds the fragment).
 */
export function translateLaterFragment(ip: usize, src: u32, dst: u32, id: u32, proto: u32, now: u32): bool {
  const set = setOf(src, dst, id, proto);
  for (let w: u32 = 0; w < FRAG_WAYS; w++) {
    const e = set + <usize>w * FRAG_ENTRY_SIZE;
    if (!entryMatches(e, src, dst, id, proto)) continue;
    if (isExpired(load<u32>(e, E_EXPIRY), now)) {
      store<u32>(e, 0, E_LIVE);
      return false;
    }
    rewriteAddress(ip, load<u8>(e, E_REWRITES_DST) ? IP_DST : IP_SRC, load<u32>(e, E_NEW_ADDR));
    return true;
  }
  return false;
}

/**
 * Records the first fragment's translation. A full set gives up its entry that expires
 * soonest (an expired one first).
 */
export function recordFirstFragment(
  src: u32,
  dst: u32,
  id: u32,
  proto: u32,
  rewritesDestination: bool,
  newAddr: u32,
  now: u32,
): void {
  const set = setOf(src, dst, id, proto);
  let victim = set;
  let victimRemaining: i32 = 0x7fffffff;
  for (let w: u32 = 0; w < FRAG_WAYS; w++) {
    const e = set + <usize>w * FRAG_ENTRY_SIZE;
    if (entryMatches(e, src, dst, id, proto)) {
      victim = e;
      break;
    }
    const remaining = load<u32>(e, E_LIVE) == 0 ? -0x7fffffff : <i32>(load<u32>(e, E_EXPIRY) - now);
    if (remaining < victimRemaining) {
      victim = e;
      victimRemaining = remaining;
    }
  }
  store<u32>(victim, src, E_SRC);
  store<u32>(victim, dst, E_DST);
  store<u16>(victim, <u16>id, E_ID);
  store<u8>(victim, <u8>proto, E_PROTO);
  store<u8>(victim, rewritesDestination ? 1 : 0, E_REWRITES_DST);
  store<u32>(victim, newAddr, E_NEW_ADDR);
  store<u32>(victim, now + fragmentMs, E_EXPIRY);
  store<u32>(victim, 1, E_LIVE);
}

/**
 * Keeps a copy of a later fragment whose first fragment has not been seen. Slots whose
 * fragment has expired are reclaimed (and counted) as they are met.
 */
export function holdFragment(pkt: usize, len: u32, src: u32, dst: u32, id: u32, proto: u32, now: u32): u8 {
  // The verdict's own counter is kept by the batch loop.
  if (len > HELD_MAX_BYTES + vnetHdrLen) return V_FRAGMENT_DROPPED;
  for (let i: u32 = 0; i < HELD_SLOTS; i++) {
    const h = held + <usize>i * HELD_STRIDE;
    if (load<u32>(h, H_LIVE) != 0) {
      if (!isExpired(load<u32>(h, H_EXPIRY), now)) continue;
      count(C_FRAGMENTS_EXPIRED);
    }
    store<u32>(h, 1, H_LIVE);
    store<u32>(h, src, H_SRC);
    store<u32>(h, dst, H_DST);
    store<u16>(h, <u16>id, H_ID);
    store<u8>(h, <u8>proto, H_PROTO);
    store<u32>(h, now + fragmentMs, H_EXPIRY);
    store<u32>(h, len, H_LENGTH);
    const seq = ctl(S_HELD_SEQ);
    setCtl(S_HELD_SEQ, seq + 1);
    store<u32>(h, seq, H_SEQ);
    memory.copy(h + HELD_HEADER, pkt, len);
    return V_HELD;
  }
  return V_FRAGMENT_DROPPED;
}

/**
 * Emits, in arrival order, the held fragments of a datagram whose first fragment has
 * just been translated, with the same address rewrite. Returns how many.
 */
export function releaseHeld(
  src: u32,
  dst: u32,
  id: u32,
  proto: u32,
  rewritesDestination: bool,
  newAddr: u32,
  now: u32,
): u32 {
  let released: u32 = 0;
  // At most HELD_SLOTS passes, each emitting the oldest remaining match: the slots are
  // few, and this runs only when fragments really came out of order.
  while (true) {
    let oldest: usize = 0;
    let oldestSeq: u32 = 0;
    for (let i: u32 = 0; i < HELD_SLOTS; i++) {
      const h = held + <usize>i * HELD_STRIDE;
      if (load<u32>(h, H_LIVE) == 0) continue;
      if (
        load<u32>(h, H_SRC) != src ||
        load<u32>(h, H_DST) != dst ||
        <u32>load<u16>(h, H_ID) != id ||
        <u32>load<u8>(h, H_PROTO) != proto
      ) {
        continue;
      }
      if (isExpired(load<u32>(h, H_EXPIRY), now)) {
        store<u32>(h, 0, H_LIVE);
        count(C_FRAGMENTS_EXPIRED);
        continue;
      }
      const seq = load<u32>(h, H_SEQ);
      if (oldest == 0 || <i32>(seq - oldestSeq) < 0) {
        oldest = h;
        oldestSeq = seq;
      }
    }
    if (oldest == 0) return released;
    const len = load<u32>(oldest, H_LENGTH);
    const out = emitRecord(len);
    store<u32>(oldest, 0, H_LIVE);
    if (out == 0) {
      // Cannot happen (the emit area holds every slot at once); drop rather than corrupt.
      count(C_DROP_BASE + V_FRAGMENT_DROPPED - 1);
      continue;
    }
    memory.copy(out, oldest + HELD_HEADER, len);
    rewriteAddress(out + vnetHdrLen, rewritesDestination ? IP_DST : IP_SRC, newAddr);
    count(C_FRAGMENTS_RELEASED);
    released++;
  }
}

/** Frees expired entries and held fragments (sweepAll). */
export function sweepFragments(now: u32): void {
  for (let i: u32 = 0; i < FRAG_SETS * FRAG_WAYS; i++) {
    const e = fragEntries + <usize>i * FRAG_ENTRY_SIZE;
    if (load<u32>(e, E_LIVE) != 0 && isExpired(load<u32>(e, E_EXPIRY), now)) store<u32>(e, 0, E_LIVE);
  }
  for (let i: u32 = 0; i < HELD_SLOTS; i++) {
    const h = held + <usize>i * HELD_STRIDE;
    if (load<u32>(h, H_LIVE) != 0 && isExpired(load<u32>(h, H_EXPIRY), now)) {
      store<u32>(h, 0, H_LIVE);
      count(C_FRAGMENTS_EXPIRED);
    }
  }
}

/** Starts a batch's emit area. */
export function resetEmit(): void {
  setCtl(S_EMIT_USED, 0);
}

/**
 * Reserves a record of `len` bytes in the emit area: u32 length, then the bytes, each
 * record 4-byte aligned. Returns where the bytes go, or 0 when full.
 */
function emitRecord(len: u32): usize {
  const used = ctl(S_EMIT_USED);
  const size = (4 + len + 3) & ~3;
  if (used + size > EMIT_CAPACITY) return 0;
  store<u32>(emitBase + used, len);
  setCtl(S_EMIT_USED, used + size);
  return emitBase + used + 4;
}
