// The policy table image (assembly/README.md, "The policy table image"), compiled by the
// host. The active image's header is cached here at each swap; lookups read it in place.
//
//  0 magic  4 version  8 egressCount  12 sourceCount  16 groupCount  20 destinationCount
//  24 byteLength  28 egress[] {ip u32 host order, portMin u16, portMax u16, slot u32}
//  then sourceStarts[], sourceGroups[], groups[] {first, count}, destinationStarts[],
//  destinationEgress[].

import { intervalLookup } from './interval-search';

export const TABLE_MAGIC: u32 = 0x54574745;
export const TABLE_VERSION: u32 = 1;
export const TABLE_HEADER: u32 = 28;
export const EGRESS_ENTRY_SIZE: u32 = 12;

export const E_IP: usize = 0;
export const E_PORT_MIN: usize = 4;
export const E_PORT_MAX: usize = 6;
export const E_SLOT: usize = 8;

// The active image, cached.
export let egressCount: u32 = 0;
export let egressEntries: usize = 0;
let sourceCount: u32 = 0;
let sourceStarts: usize = 0;
let sourceGroups: usize = 0;
let groupCount: u32 = 0;
let groups: usize = 0;
let destinationStarts: usize = 0;
let destinationEgress: usize = 0;

/**
 * Checks an image's header against the buffer it sits in, and caches it. An image that
 * does not fit is refused (returns false) and the previous one stays active: the host
 * compiled it, but a core must not trust offsets it has not checked.
 */
export function loadTable(base: usize, capacity: u32): bool {
  if (capacity < TABLE_HEADER) return false;
  if (load<u32>(base) != TABLE_MAGIC || load<u32>(base, 4) != TABLE_VERSION) return false;
  const eCount = load<u32>(base, 8);
  const sCount = load<u32>(base, 12);
  const gCount = load<u32>(base, 16);
  const dCount = load<u32>(base, 20);
  const byteLength = load<u32>(base, 24);
  // Each count is bounded before multiplying so that the sum cannot wrap.
  if (eCount > 0xffff || sCount > 0x1000000 || gCount > 0x1000000 || dCount > 0x1000000) return false;
  const need: u64 =
    <u64>TABLE_HEADER +
    <u64>eCount * EGRESS_ENTRY_SIZE +
    <u64>sCount * 8 +
    <u64>gCount * 8 +
    <u64>dCount * 8;
  if (need != <u64>byteLength || need > <u64>capacity) return false;
  if (sCount == 0) return false;
  let p = base + TABLE_HEADER;
  const eBase = p;
  p += <usize>eCount * EGRESS_ENTRY_SIZE;
  const sStarts = p;
  p += <usize>sCount << 2;
  const sGroups = p;
  p += <usize>sCount << 2;
  const gBase = p;
  p += <usize>gCount << 3;
  const dStarts = p;
  p += <usize>dCount << 2;
  const dEgress = p;
  // Every reference inside the image must land inside it, and every interval array
  // must start at address 0 so that each address has an interval.
  if (load<u32>(sStarts) != 0) return false;
  for (let i: u32 = 0; i < sCount; i++) {
    if (load<u32>(sGroups + (<usize>i << 2)) > gCount) return false;
  }
  for (let g: u32 = 0; g < gCount; g++) {
    const first = load<u32>(gBase + (<usize>g << 3));
    const n = load<u32>(gBase + (<usize>g << 3), 4);
    if (n == 0 || <u64>first + <u64>n > <u64>dCount) return false;
    if (load<u32>(dStarts + (<usize>first << 2)) != 0) return false;
  }
  for (let d: u32 = 0; d < dCount; d++) {
    if (load<u32>(dEgress + (<usize>d << 2)) > eCount) return false;
  }
  egressCount = eCount;
  egressEntries = eBase;
  sourceCount = sCount;
  sourceStarts = sStarts;
  sourceGroups = sGroups;
  groupCount = gCount;
  groups = gBase;
  destinationStarts = dStarts;
  destinationEgress = dEgress;
  return true;
}

/** No table yet: nothing is translated. */
export function clearTable(): void {
  egressCount = 0;
  sourceCount = 0;
  groupCount = 0;
}

/** The egress entry index for (src, dst), host order, or -1 when nothing translates it. */
export function resolveEgress(src: u32, dst: u32): i32 {
  if (sourceCount == 0) return -1;
  const group = intervalLookup(sourceStarts, sourceGroups, sourceCount, src);
  if (group == 0) return -1;
  const g = groups + (<usize>(group - 1) << 3);
  const first = load<u32>(g);
  const n = load<u32>(g, 4);
  const value = intervalLookup(
    destinationStarts + (<usize>first << 2),
    destinationEgress + (<usize>first << 2),
    n,
    dst,
  );
  return <i32>value - 1;
}

@inline export function egressEntry(index: u32): usize {
  return egressEntries + <usize>index * EGRESS_ENTRY_SIZE;
}
