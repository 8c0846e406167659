// Expiry and eviction. Lookups already treat an expired flow as gone; the sweep frees
// the records (and so their ports) a few per batch, so that no batch pays for the whole
// table. Eviction makes room when the table is full (assembly/README.md).

import { count, ctl, S_FLOW_COUNT, S_FLOW_HIGH_WATER, S_SWEEP_CURSOR, setCtl } from '../control';
import { C_FLOWS_EVICTED, C_FLOWS_EXPIRED } from '../counters';
import { evictionClass, isExpired } from './flow-state';
import { F_EXPIRY, F_STATE, flowRecord, isLive, removeFlow } from './flows';

const EVICTION_WINDOW: u32 = 32;

/** Looks at up to `budget` records from the cursor and frees the expired ones. */
export function sweepFlows(now: u32, budget: u32): void {
  const highWater = ctl(S_FLOW_HIGH_WATER);
  if (highWater == 0) return;
  let cursor = ctl(S_SWEEP_CURSOR);
  if (budget > highWater) budget = highWater;
  for (let i: u32 = 0; i < budget; i++) {
    if (cursor >= highWater) cursor = 0;
    const f = flowRecord(cursor);
    if (isLive(f) && isExpired(load<u32>(f, F_EXPIRY), now)) {
      removeFlow(cursor);
      count(C_FLOWS_EXPIRED);
    }
    cursor++;
  }
  setCtl(S_SWEEP_CURSOR, cursor);
}

/** Frees one flow to make room: closing first, then unreplied, then the soonest to expire. */
export function evictOne(now: u32): void {
  const highWater = ctl(S_FLOW_HIGH_WATER);
  let cursor = ctl(S_SWEEP_CURSOR);
  let best: i32 = -1;
  let bestClass: u32 = 3;
  let bestRemaining: i32 = 0x7fffffff;
  let examined: u32 = 0;
  // The table is full, so every record below the high-water mark is live; the loop
  // still checks, and stops after one lap.
  for (let i: u32 = 0; i < highWater && examined < EVICTION_WINDOW; i++) {
    if (cursor >= highWater) cursor = 0;
    const f = flowRecord(cursor);
    if (isLive(f)) {
      examined++;
      const cls = evictionClass(load<u8>(f, F_STATE));
      const remaining = <i32>(load<u32>(f, F_EXPIRY) - now);
      if (cls < bestClass || (cls == bestClass && cls == 2 && remaining < bestRemaining)) {
        best = <i32>cursor;
        bestClass = cls;
        bestRemaining = remaining;
        if (cls == 0) break;
      }
    }
    cursor++;
  }
  if (best < 0) return;
  removeFlow(<u32>best);
  count(C_FLOWS_EVICTED);
  setCtl(S_SWEEP_CURSOR, cursor);
}

@inline export function flowCount(): u32 {
  return ctl(S_FLOW_COUNT);
}
