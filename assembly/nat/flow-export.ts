// Export and import of flows, for replicating NAT state to standby gateways: a standby
// that imports the active node's flows translates their packets exactly the same way
// after a failover (in VIP mode the address does not change, so connections survive).
//
//   record (32 bytes, addresses and ports raw, i.e. network byte order in memory):
//     0 proto u8 | 1 state byte u8 | 2..3 zero | 4 internalIP | 8 remoteIP | 12 egressIP
//     | 16 internalPort u16 | 18 remotePort u16 | 20 egressPort u16 | 22..23 zero
//     | 24 remaining lifetime ms u32 | 28 zero
//   The egress address, not the slot, travels: slots are local to each node.

import { count, ctl, S_FLOW_HIGH_WATER } from '../control';
import { C_FLOWS_IMPORTED, C_FLOWS_IMPORT_SKIPPED } from '../counters';
import { EXPORT_RECORD_SIZE, exportBase, exportRecords, maxFlows } from '../layout';
import { egressSlotOf } from './egress-slots';
import { isExpired, ST_MASK } from './flow-state';
import { findFlow } from './flow-lookup';
import {
  allocateFlow,
  entryFlow,
  F_EPOCH,
  F_EXPIRY,
  F_MAPPING,
  F_REMOTE_IP,
  F_REMOTE_PORT,
  F_STATE,
  flowRecord,
  indexFlow,
  isLive,
} from './flows';
import {
  createMapping,
  findMapping,
  M_EGRESS_IP,
  M_EGRESS_PORT,
  M_INTERNAL_IP,
  M_INTERNAL_PORT,
  mappingProto,
  mappingRecord,
  retainMapping,
} from './mappings';
import { portInUse } from './ports';
import { evictOne, flowCount } from './sweep';

const X_PROTO: usize = 0;
const X_STATE: usize = 1;
const X_INTERNAL_IP: usize = 4;
const X_REMOTE_IP: usize = 8;
const X_EGRESS_IP: usize = 12;
const X_INTERNAL_PORT: usize = 16;
const X_REMOTE_PORT: usize = 18;
const X_EGRESS_PORT: usize = 20;
const X_REMAINING: usize = 24;

/** Records written by the last exportFlows call. */
export let exported: u32 = 0;

/**
 * Writes up to the export area's capacity of live flows, starting at record `cursor`.
 * Returns the cursor to continue from, or 0xffffffff when the table is done.
 */
export function exportFlows(cursor: u32, now: u32): u32 {
  const highWater = ctl(S_FLOW_HIGH_WATER);
  exported = 0;
  while (cursor < highWater) {
    if (exported == exportRecords) return cursor;
    const f = flowRecord(cursor);
    const expiry = load<u32>(f, F_EXPIRY);
    if (isLive(f) && !isExpired(expiry, now)) {
      const m = mappingRecord(load<u32>(f, F_MAPPING));
      const r = exportBase + <usize>exported * EXPORT_RECORD_SIZE;
      memory.fill(r, 0, EXPORT_RECORD_SIZE);
      store<u8>(r, <u8>mappingProto(m), X_PROTO);
      store<u8>(r, load<u8>(f, F_STATE), X_STATE);
      store<u32>(r, load<u32>(m, M_INTERNAL_IP), X_INTERNAL_IP);
      store<u32>(r, load<u32>(f, F_REMOTE_IP), X_REMOTE_IP);
      store<u32>(r, load<u32>(m, M_EGRESS_IP), X_EGRESS_IP);
      store<u16>(r, load<u16>(m, M_INTERNAL_PORT), X_INTERNAL_PORT);
      store<u16>(r, load<u16>(f, F_REMOTE_PORT), X_REMOTE_PORT);
      store<u16>(r, load<u16>(m, M_EGRESS_PORT), X_EGRESS_PORT);
      store<u32>(r, expiry - now, X_REMAINING);
      exported++;
    }
    cursor++;
  }
  return 0xffffffff;
}

/**
 * Takes `n` records from the export area. A record is skipped (and counted) when its
 * egress address is not served here, when its egress port is held by another endpoint,
 * or when the endpoint already maps to another port. A flow that exists is refreshed.
 * Returns how many were taken.
 */
export function importFlows(n: u32, now: u32): u32 {
  let taken: u32 = 0;
  if (n > exportRecords) n = exportRecords;
  for (let i: u32 = 0; i < n; i++) {
    const r = exportBase + <usize>i * EXPORT_RECORD_SIZE;
    if (importOne(r, now)) {
      taken++;
      count(C_FLOWS_IMPORTED);
    } else {
      count(C_FLOWS_IMPORT_SKIPPED);
    }
  }
  return taken;
}

function importOne(r: usize, now: u32): bool {
  const proto = <u32>load<u8>(r, X_PROTO);
  const stateFlags = load<u8>(r, X_STATE) & 0x3f;
  if ((stateFlags & ST_MASK) == 0) return false;
  const internalIP = load<u32>(r, X_INTERNAL_IP);
  const remoteIP = load<u32>(r, X_REMOTE_IP);
  const egressIP = load<u32>(r, X_EGRESS_IP);
  const internalPort = <u32>load<u16>(r, X_INTERNAL_PORT);
  const remotePort = <u32>load<u16>(r, X_REMOTE_PORT);
  const egressPort = <u32>load<u16>(r, X_EGRESS_PORT);
  const remaining = load<u32>(r, X_REMAINING);
  if (proto != 6 && proto != 17 && proto != 1) return false;
  if (remaining == 0 || remaining > 0x7fffffff) return false;
  const slot = egressSlotOf(egressIP);
  if (slot < 0) return false;

  const existing = findFlow(proto, internalIP, remoteIP, internalPort, remotePort, now);
  if (existing != 0) {
    const f = flowRecord(entryFlow(existing));
    const m = mappingRecord(load<u32>(f, F_MAPPING));
    if (load<u32>(m, M_EGRESS_IP) != egressIP || <u32>load<u16>(m, M_EGRESS_PORT) != egressPort) return false;
    store<u8>(f, stateFlags, F_STATE);
    store<u32>(f, now + remaining, F_EXPIRY);
    return true;
  }

  if (flowCount() >= maxFlows) evictOne(now);
  let mapping = findMapping(proto, <u32>slot, egressIP, internalIP, internalPort);
  if (mapping >= 0) {
    if (<u32>load<u16>(mappingRecord(<u32>mapping), M_EGRESS_PORT) != egressPort) return false;
    if (!retainMapping(<u32>mapping)) return false;
  } else {
    if (portInUse(<u32>slot, proto, <u32>bswap<u16>(<u16>egressPort))) return false;
    mapping = <i32>createMapping(proto, <u32>slot, egressIP, internalIP, internalPort, egressPort);
  }
  const index = allocateFlow();
  const f = flowRecord(index);
  store<u32>(f, <u32>mapping, F_MAPPING);
  store<u32>(f, remoteIP, F_REMOTE_IP);
  store<u16>(f, <u16>remotePort, F_REMOTE_PORT);
  store<u8>(f, stateFlags, F_STATE);
  // Epoch 0 is never current: the flow is checked against this node's table on its
  // first packet, like any flow from before a swap.
  store<u8>(f, 0, F_EPOCH);
  store<u32>(f, now + remaining, F_EXPIRY);
  indexFlow(index);
  return true;
}
