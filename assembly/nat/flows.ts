// Flows (connection tracking): one record per connection, found from both directions.
//
//   record (16 bytes): 0 mapping u32 | 4 remoteIP raw | 8 expiry ms u32
//                      | 12 remotePort raw u16 | 14 state byte (flow-state.ts) | 15 epoch
//   A free record has state 0; its first word links the free list. Records at or above
//   the high-water mark have never been used.
//   index: open addressing with linear probing, capacity 4 x maxFlows (two entries per
//   flow, at most half full), entries (record + 1) | direction << 24 | tag << 25;
//   0 = empty. Deletion shifts later entries back (no tombstones).
//
// The original tuple is (proto, internalIP, remoteIP, internalPort, remotePort), the reply
// tuple (proto, remoteIP, egressIP, remotePort, egressPort); the internal and egress
// halves live in the mapping, so a flow costs 16 bytes here plus 16 of index.

import { ctl, S_FLOW_COUNT, S_FLOW_HIGH_WATER, S_FREE_FLOW, setCtl } from '../control';
import { flowIndex, flowIndexMask, flows, seed } from '../layout';
import { ST_FREE, ST_MASK } from './flow-state';
import { tupleHash } from './hash';
import {
  M_EGRESS_IP,
  M_EGRESS_PORT,
  M_INTERNAL_IP,
  M_INTERNAL_PORT,
  mappingProto,
  mappingRecord,
  releaseMapping,
} from './mappings';

export const F_MAPPING: usize = 0;
export const F_REMOTE_IP: usize = 4;
export const F_EXPIRY: usize = 8;
export const F_REMOTE_PORT: usize = 12;
export const F_STATE: usize = 14;
export const F_EPOCH: usize = 15;

export const DIR_ORIGINAL: u32 = 0;
export const DIR_REPLY: u32 = 1;

const INDEX_MASK: u32 = 0xffffff;

@inline export function flowRecord(index: u32): usize {
  return flows + (<usize>index << 4);
}

@inline export function entryFlow(entry: u32): u32 {
  return (entry & INDEX_MASK) - 1;
}

@inline export function entryDirection(entry: u32): u32 {
  return (entry >> 24) & 1;
}

@inline function tagOf(hash: u32): u32 {
  return hash >> 25;
}

@inline export function isLive(f: usize): bool {
  return (load<u8>(f, F_STATE) & ST_MASK) != ST_FREE;
}

/** The hash of a flow's tuple in one direction, as a packet of that direction gives it. */
function flowHash(index: u32, direction: u32): u32 {
  const f = flowRecord(index);
  const m = mappingRecord(load<u32>(f, F_MAPPING));
  const proto = mappingProto(m);
  if (direction == DIR_ORIGINAL) {
    return tupleHash(
      seed,
      proto,
      load<u32>(m, M_INTERNAL_IP),
      load<u32>(f, F_REMOTE_IP),
      <u32>load<u16>(m, M_INTERNAL_PORT),
      <u32>load<u16>(f, F_REMOTE_PORT),
    );
  }
  return tupleHash(
    seed,
    proto,
    load<u32>(f, F_REMOTE_IP),
    load<u32>(m, M_EGRESS_IP),
    <u32>load<u16>(f, F_REMOTE_PORT),
    <u32>load<u16>(m, M_EGRESS_PORT),
  );
}

/**
 * The index entry whose tuple equals the packet's, or 0. Raw addresses and ports.
 * The tag (7 hash bits) spares most mismatching probes the two record loads.
 */
export function lookupFlow(proto: u32, src: u32, dst: u32, srcPort: u32, dstPort: u32): u32 {
  const hash = tupleHash(seed, proto, src, dst, srcPort, dstPort);
  const tag = tagOf(hash);
  let pos = hash & flowIndexMask;
  while (true) {
    const entry = load<u32>(flowIndex + (<usize>pos << 2));
    if (entry == 0) return 0;
    if (entry >> 25 == tag) {
      const f = flowRecord(entryFlow(entry));
      const m = mappingRecord(load<u32>(f, F_MAPPING));
      if (mappingProto(m) == proto) {
        if (entryDirection(entry) == DIR_ORIGINAL) {
          if (
            load<u32>(m, M_INTERNAL_IP) == src &&
            load<u32>(f, F_REMOTE_IP) == dst &&
            <u32>load<u16>(m, M_INTERNAL_PORT) == srcPort &&
            <u32>load<u16>(f, F_REMOTE_PORT) == dstPort
          ) {
            return entry;
          }
        } else if (
          load<u32>(f, F_REMOTE_IP) == src &&
          load<u32>(m, M_EGRESS_IP) == dst &&
          <u32>load<u16>(f, F_REMOTE_PORT) == srcPort &&
          <u32>load<u16>(m, M_EGRESS_PORT) == dstPort
        ) {
          return entry;
        }
      }
    }
    pos = (pos + 1) & flowIndexMask;
  }
}

/** A free record; the caller made sure one exists (flowCount < maxFlows). */
export function allocateFlow(): u32 {
  const free = ctl(S_FREE_FLOW);
  let index: u32;
  if (free != 0) {
    index = free - 1;
    setCtl(S_FREE_FLOW, load<u32>(flowRecord(index)));
  } else {
    index = ctl(S_FLOW_HIGH_WATER);
    setCtl(S_FLOW_HIGH_WATER, index + 1);
  }
  setCtl(S_FLOW_COUNT, ctl(S_FLOW_COUNT) + 1);
  return index;
}

/** Puts both directions of a filled-in record into the index. */
export function indexFlow(index: u32): void {
  for (let direction: u32 = 0; direction < 2; direction++) {
    const hash = flowHash(index, direction);
    let pos = hash & flowIndexMask;
    while (load<u32>(flowIndex + (<usize>pos << 2)) != 0) pos = (pos + 1) & flowIndexMask;
    store<u32>(flowIndex + (<usize>pos << 2), (index + 1) | (direction << 24) | (tagOf(hash) << 25));
  }
}

/** Removes a live flow: both index entries, its mapping reference, the record. */
export function removeFlow(index: u32): void {
  unindex(index, DIR_ORIGINAL);
  unindex(index, DIR_REPLY);
  const f = flowRecord(index);
  releaseMapping(load<u32>(f, F_MAPPING));
  store<u8>(f, ST_FREE, F_STATE);
  store<u32>(f, ctl(S_FREE_FLOW), F_MAPPING);
  setCtl(S_FREE_FLOW, index + 1);
  setCtl(S_FLOW_COUNT, ctl(S_FLOW_COUNT) - 1);
}

function unindex(index: u32, direction: u32): void {
  const want = (index + 1) | (direction << 24);
  let pos = flowHash(index, direction) & flowIndexMask;
  while ((load<u32>(flowIndex + (<usize>pos << 2)) & 0x1ffffff) != want) pos = (pos + 1) & flowIndexMask;
  // Backward shift (see mappings.ts): no tombstones, probes stop at the first gap.
  let hole = pos;
  let next = (hole + 1) & flowIndexMask;
  while (true) {
    const entry = load<u32>(flowIndex + (<usize>next << 2));
    if (entry == 0) break;
    const home = flowHash(entryFlow(entry), entryDirection(entry)) & flowIndexMask;
    if (((next - home) & flowIndexMask) >= ((next - hole) & flowIndexMask)) {
      store<u32>(flowIndex + (<usize>hole << 2), entry);
      hole = next;
    }
    next = (next + 1) & flowIndexMask;
  }
  store<u32>(flowIndex + (<usize>hole << 2), 0);
}
