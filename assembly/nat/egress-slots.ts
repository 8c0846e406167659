// Egress slots: the core's stable handle for each address it translates to. The host
// keeps an address on the same slot across table swaps, so that port bitmaps and
// mappings survive a swap. The slot record remembers the address it had, so a slot
// handed to a new address is recognised (mappings store their address and the
// mismatch makes them stale).
//
//   slot record (16 bytes): 0 ip (raw) | 4 portMin | 6 portMax | 8 live u8
//   egress hash: open addressing, at most half full, entries {ip raw u32, slot + 1 u32}

import { egressHash, egressHashMask, egressSlots, maxEgress, seed } from '../layout';
import { E_IP, E_PORT_MAX, E_PORT_MIN, E_SLOT, egressCount, egressEntry } from '../route/policy-table';
import { mix32 } from './hash';

export const SLOT_IP: usize = 0;
export const SLOT_PORT_MIN: usize = 4;
export const SLOT_PORT_MAX: usize = 6;
export const SLOT_LIVE: usize = 8;

@inline export function slotRecord(slot: u32): usize {
  return egressSlots + (<usize>slot << 4);
}

/**
 * Checks the egress entries of an image before it is accepted: slots in range and
 * distinct, addresses distinct, port ranges ordered. `entries` is the image's array.
 */
export function egressEntriesValid(entries: usize, n: u32): bool {
  if (n > maxEgress) return false;
  for (let i: u32 = 0; i < n; i++) {
    const e = entries + <usize>i * 12;
    const slot = load<u32>(e, E_SLOT);
    if (slot >= maxEgress) return false;
    if (load<u16>(e, E_PORT_MIN) > load<u16>(e, E_PORT_MAX)) return false;
    for (let j: u32 = 0; j < i; j++) {
      const o = entries + <usize>j * 12;
      if (load<u32>(o, E_SLOT) == slot || load<u32>(o, E_IP) == load<u32>(e, E_IP)) return false;
    }
  }
  return true;
}

/** Makes the slots and the egress hash match the active table (after loadTable). */
export function applyEgressTable(): void {
  for (let s: u32 = 0; s < maxEgress; s++) store<u8>(slotRecord(s), 0, SLOT_LIVE);
  memory.fill(egressHash, 0, (<usize>egressHashMask + 1) << 3);
  for (let i: u32 = 0; i < egressCount; i++) {
    const e = egressEntry(i);
    const slot = load<u32>(e, E_SLOT);
    const ipRaw = bswap<u32>(load<u32>(e, E_IP));
    const r = slotRecord(slot);
    store<u32>(r, ipRaw, SLOT_IP);
    store<u16>(r, load<u16>(e, E_PORT_MIN), SLOT_PORT_MIN);
    store<u16>(r, load<u16>(e, E_PORT_MAX), SLOT_PORT_MAX);
    store<u8>(r, 1, SLOT_LIVE);
    let pos = mix32(ipRaw ^ seed) & egressHashMask;
    while (load<u32>(egressHash + (<usize>pos << 3), 4) != 0) pos = (pos + 1) & egressHashMask;
    store<u32>(egressHash + (<usize>pos << 3), ipRaw);
    store<u32>(egressHash + (<usize>pos << 3), slot + 1, 4);
  }
}

/** The slot translating to `ipRaw` in the active table, or -1: decides direction. */
export function egressSlotOf(ipRaw: u32): i32 {
  let pos = mix32(ipRaw ^ seed) & egressHashMask;
  while (true) {
    const e = egressHash + (<usize>pos << 3);
    const slotPlusOne = load<u32>(e, 4);
    if (slotPlusOne == 0) return -1;
    if (load<u32>(e) == ipRaw) return <i32>slotPlusOne - 1;
    pos = (pos + 1) & egressHashMask;
  }
}
