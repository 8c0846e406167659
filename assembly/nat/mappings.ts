// Mappings (RFC 4787 REQ-1, endpoint-independent): (proto, egress slot, internal address,
// internal port) -> egress port, shared by every flow of that internal endpoint and freed
// with its last flow.
//
//   record (16 bytes): 0 internalIP raw | 4 egressIP raw | 8 internalPort raw u16
//                      | 10 egressPort raw u16 | 12 slot u8, kind u2, refcount u22
//   A free record has refcount 0; its first word links the free list.
//   index: open addressing with linear probing, capacity 2 x maxFlows (at most half
//   full, since mappings <= flows), entries (record + 1) | tag << 24; 0 = empty.
//   Deletion shifts later entries back (no tombstones), so a probe ends at the first
//   empty entry.
//
// The record keeps the egress address it was made for: when the host moves a slot to
// another address, old mappings no longer match and fade with their flows.

import { PROTO_ICMP, PROTO_TCP, PROTO_UDP } from '../wire/ipv4';
import { ctl, count, S_FREE_MAPPING, S_MAPPING_COUNT, S_MAPPING_HIGH_WATER, setCtl } from '../control';
import { C_MAPPINGS_CREATED } from '../counters';
import { mappingIndex, mappingIndexMask, mappings, seed } from '../layout';
import { tupleHash } from './hash';
import { protocolKind, releasePort, takePort } from './ports';

export const M_INTERNAL_IP: usize = 0;
export const M_EGRESS_IP: usize = 4;
export const M_INTERNAL_PORT: usize = 8;
export const M_EGRESS_PORT: usize = 10;
export const M_PACKED: usize = 12;

const INDEX_MASK: u32 = 0xffffff;
const MAPPING_SEED: u32 = 0x5bd1e995;

@inline export function mappingRecord(index: u32): usize {
  return mappings + (<usize>index << 4);
}

@inline export function mappingSlot(m: usize): u32 {
  return load<u32>(m, M_PACKED) & 0xff;
}

@inline export function mappingProto(m: usize): u32 {
  const kind = (load<u32>(m, M_PACKED) >> 8) & 3;
  return kind == 0 ? PROTO_TCP : kind == 2 ? PROTO_ICMP : PROTO_UDP;
}

@inline function refcount(m: usize): u32 {
  return load<u32>(m, M_PACKED) >> 10;
}

/** Largest number of flows one mapping can carry. */
export const MAX_REFCOUNT: u32 = (1 << 22) - 1;

@inline function mappingHash(proto: u32, slot: u32, internalIP: u32, internalPort: u32): u32 {
  return tupleHash(seed ^ MAPPING_SEED, proto, internalIP, slot, internalPort, 0);
}

@inline function tagOf(hash: u32): u32 {
  return (hash >> 24) | 1;
}

/** The live mapping for this endpoint on this slot and address, or -1. */
export function findMapping(
  proto: u32,
  slot: u32,
  egressIP: u32,
  internalIP: u32,
  internalPort: u32,
): i32 {
  const hash = mappingHash(proto, slot, internalIP, internalPort);
  const tag = tagOf(hash);
  let pos = hash & mappingIndexMask;
  while (true) {
    const entry = load<u32>(mappingIndex + (<usize>pos << 2));
    if (entry == 0) return -1;
    if (entry >> 24 == tag) {
      const index = (entry & INDEX_MASK) - 1;
      const m = mappingRecord(index);
      if (
        load<u32>(m, M_INTERNAL_IP) == internalIP &&
        <u32>load<u16>(m, M_INTERNAL_PORT) == internalPort &&
        load<u32>(m, M_EGRESS_IP) == egressIP &&
        mappingSlot(m) == slot &&
        mappingProto(m) == proto
      ) {
        return <i32>index;
      }
    }
    pos = (pos + 1) & mappingIndexMask;
  }
}

/** Takes the port and records a mapping with one reference. Ports are raw. */
export function createMapping(
  proto: u32,
  slot: u32,
  egressIP: u32,
  internalIP: u32,
  internalPort: u32,
  egressPort: u32,
): u32 {
  let index: u32;
  const free = ctl(S_FREE_MAPPING);
  if (free != 0) {
    index = free - 1;
    setCtl(S_FREE_MAPPING, load<u32>(mappingRecord(index)));
  } else {
    index = ctl(S_MAPPING_HIGH_WATER);
    setCtl(S_MAPPING_HIGH_WATER, index + 1);
  }
  const m = mappingRecord(index);
  store<u32>(m, internalIP, M_INTERNAL_IP);
  store<u32>(m, egressIP, M_EGRESS_IP);
  store<u16>(m, <u16>internalPort, M_INTERNAL_PORT);
  store<u16>(m, <u16>egressPort, M_EGRESS_PORT);
  store<u32>(m, slot | (protocolKind(proto) << 8) | (1 << 10), M_PACKED);
  takePort(slot, proto, <u32>bswap<u16>(<u16>egressPort));

  const hash = mappingHash(proto, slot, internalIP, internalPort);
  let pos = hash & mappingIndexMask;
  while (load<u32>(mappingIndex + (<usize>pos << 2)) != 0) pos = (pos + 1) & mappingIndexMask;
  store<u32>(mappingIndex + (<usize>pos << 2), (index + 1) | (tagOf(hash) << 24));
  setCtl(S_MAPPING_COUNT, ctl(S_MAPPING_COUNT) + 1);
  count(C_MAPPINGS_CREATED);
  return index;
}

/** Adds a flow to the mapping; false when it already carries the most it can. */
export function retainMapping(index: u32): bool {
  const m = mappingRecord(index);
  const packed = load<u32>(m, M_PACKED);
  if (packed >> 10 >= MAX_REFCOUNT) return false;
  store<u32>(m, packed + (1 << 10), M_PACKED);
  return true;
}

/** Drops a flow's reference; the last one frees the port and the record. */
export function releaseMapping(index: u32): void {
  const m = mappingRecord(index);
  const packed = load<u32>(m, M_PACKED);
  if (packed >> 10 > 1) {
    store<u32>(m, packed - (1 << 10), M_PACKED);
    return;
  }
  const proto = mappingProto(m);
  const slot = packed & 0xff;
  removeFromIndex(index, mappingHash(proto, slot, load<u32>(m, M_INTERNAL_IP), <u32>load<u16>(m, M_INTERNAL_PORT)));
  releasePort(slot, proto, <u32>bswap<u16>(load<u16>(m, M_EGRESS_PORT)));
  store<u32>(m, 0, M_PACKED);
  store<u32>(m, ctl(S_FREE_MAPPING));
  setCtl(S_FREE_MAPPING, index + 1);
  setCtl(S_MAPPING_COUNT, ctl(S_MAPPING_COUNT) - 1);
}

function removeFromIndex(index: u32, hash: u32): void {
  let pos = hash & mappingIndexMask;
  while ((load<u32>(mappingIndex + (<usize>pos << 2)) & INDEX_MASK) != index + 1) {
    pos = (pos + 1) & mappingIndexMask;
  }
  // Backward shift: move up every later entry of the run whose home lies at or before
  // the hole (cyclically), so probes never meet a gap inside their run.
  let hole = pos;
  let next = (hole + 1) & mappingIndexMask;
  while (true) {
    const entry = load<u32>(mappingIndex + (<usize>next << 2));
    if (entry == 0) break;
    const m = mappingRecord((entry & INDEX_MASK) - 1);
    const home =
      mappingHash(mappingProto(m), mappingSlot(m), load<u32>(m, M_INTERNAL_IP), <u32>load<u16>(m, M_INTERNAL_PORT)) &
      mappingIndexMask;
    // Distance from home to `next` versus from home to the hole, both cyclic.
    if (((next - home) & mappingIndexMask) >= ((next - hole) & mappingIndexMask)) {
      store<u32>(mappingIndex + (<usize>hole << 2), entry);
      hole = next;
    }
    next = (next + 1) & mappingIndexMask;
  }
  store<u32>(mappingIndex + (<usize>hole << 2), 0);
}

export { refcount as mappingRefcount };
