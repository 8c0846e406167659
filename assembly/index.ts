// The packet core's exports: the only entry points the host calls (assembly/README.md).
// Every call works on memory the host shares; no call allocates.

import {
  ABI_VERSION,
  CFG_BATCH_SLOTS,
  CFG_EXPORT_RECORDS,
  CFG_MAX_EGRESS,
  CFG_MAX_FLOWS,
  CFG_SLOT_STRIDE,
  CFG_TABLE_BYTES,
  CFG_VNET_HDR_LEN,
  CONTROL_SIZE,
  controlBlock,
  COUNTERS,
  count,
  ctl,
  L_MEMORY_END,
  S_EPOCH,
  S_FLOW_HIGH_WATER,
  S_MAPPING_COUNT,
  setCtl,
  T_ACK_SEQ,
  T_ACTIVE_INDEX,
  T_REQUEST_INDEX,
  T_REQUEST_SEQ,
} from './control';
import { C_DROP_BASE, C_FORWARDED_BYTES, C_FORWARDED_PACKETS, C_RX_BYTES, C_RX_PACKETS, C_TABLE_SWAPS, COUNTER_COUNT } from './counters';
import {
  batchSlots,
  EXPORT_RECORD_SIZE,
  exportBase,
  exportRecords,
  lensBase,
  loadLayout,
  maxEgress,
  maxFlows,
  slotBase,
  slotStride,
  tableBase0,
  tableBase1,
  tableBytes,
  verdictsBase,
  vnetHdrLen,
} from './layout';
import { applyEgressTable, egressEntriesValid } from './nat/egress-slots';
import { countPortsInUse } from './nat/ports';
import { exported, exportFlows as exportFlowRecords, importFlows as importFlowRecords } from './nat/flow-export';
import { F_EPOCH, flowRecord, isLive } from './nat/flows';
import { sweepFragments, resetEmit } from './nat/fragments';
import { emittedByPacket, processPacket } from './nat/packet';
import { flowCount as liveFlows, sweepFlows } from './nat/sweep';
import { clearTable, E_IP, egressCount, egressEntries, egressEntry, loadTable, resolveEgress } from './route/policy-table';
import { V_FORWARD } from './verdict';

/** init() results. */
const INIT_OK: u32 = 0;
const INIT_BAD_CONFIG: u32 = 1;
const INIT_NO_MEMORY: u32 = 2;

/** Flows examined by the sweep per batch, and per idle call (count 0). */
const SWEEP_PER_BATCH: u32 = 8;
const SWEEP_WHEN_IDLE: u32 = 4096;

export function controlBlockAddress(): usize {
  return controlBlock;
}

/**
 * Lays out memory from the configuration in the control block, grows the memory to
 * fit, and clears all state. Returns INIT_OK, or why not.
 */
export function init(): u32 {
  const flowsWanted = ctl(CFG_MAX_FLOWS);
  const vnet = ctl(CFG_VNET_HDR_LEN);
  if (flowsWanted < 16 || flowsWanted > (1 << 22) || (flowsWanted & (flowsWanted - 1)) != 0) return INIT_BAD_CONFIG;
  if (ctl(CFG_MAX_EGRESS) == 0 || ctl(CFG_MAX_EGRESS) > 255) return INIT_BAD_CONFIG;
  if (ctl(CFG_BATCH_SLOTS) == 0 || ctl(CFG_BATCH_SLOTS) > 1024) return INIT_BAD_CONFIG;
  if (vnet != 0 && vnet != 10 && vnet != 12) return INIT_BAD_CONFIG;
  if (ctl(CFG_SLOT_STRIDE) < 65536 + vnet || ctl(CFG_SLOT_STRIDE) > (1 << 20)) return INIT_BAD_CONFIG;
  if (ctl(CFG_TABLE_BYTES) < 64 || ctl(CFG_TABLE_BYTES) > (1 << 28)) return INIT_BAD_CONFIG;
  if (ctl(CFG_EXPORT_RECORDS) == 0 || ctl(CFG_EXPORT_RECORDS) > (1 << 20)) return INIT_BAD_CONFIG;

  loadLayout();
  const end = <usize>ctl(L_MEMORY_END);
  const pagesNeeded = <i32>((end + 0xffff) >> 16);
  const pagesNow = memory.size();
  if (pagesNeeded > pagesNow && memory.grow(pagesNeeded - pagesNow) < 0) return INIT_NO_MEMORY;

  // Everything after the configuration and layout: swap handshake, state, counters,
  // then every region.
  memory.fill(controlBlock + T_REQUEST_SEQ, 0, CONTROL_SIZE - <u32>T_REQUEST_SEQ);
  const regionsStart = (controlBlock + CONTROL_SIZE + 63) & ~(<usize>63);
  memory.fill(regionsStart, 0, end - regionsStart);
  setCtl(S_EPOCH, 1);
  setCtl(T_ACTIVE_INDEX, 0xffffffff);
  clearTable();
  applyEgressTable();
  setCtl(0, ABI_VERSION);
  setCtl(4, 1);
  return INIT_OK;
}

/** In another instance over the same, initialised memory: reload the cached layout. */
export function attach(): u32 {
  if (ctl(0) != ABI_VERSION || ctl(4) != 1) return INIT_BAD_CONFIG;
  loadLayout();
  const active = ctl(T_ACTIVE_INDEX);
  if (active == 0xffffffff || !loadTable(active == 0 ? tableBase0 : tableBase1, tableBytes)) clearTable();
  return INIT_OK;
}

/**
 * Epochs run 1..255 in the flows' epoch byte. When the counter wraps, every live flow
 * is marked 0, which is never current, so no flow can skip its check by coincidence.
 */
function bumpEpoch(): void {
  let epoch = (ctl(S_EPOCH) + 1) & 0xff;
  if (epoch == 0) {
    epoch = 1;
    const highWater = ctl(S_FLOW_HIGH_WATER);
    for (let i: u32 = 0; i < highWater; i++) {
      const f = flowRecord(i);
      if (isLive(f)) store<u8>(f, 0, F_EPOCH);
    }
  }
  setCtl(S_EPOCH, epoch);
}

/** Takes a table the host has requested, if any (control.ts, the swap handshake). */
function takeRequestedTable(): void {
  const seq = atomic.load<u32>(controlBlock + T_REQUEST_SEQ);
  if (seq == ctl(T_ACK_SEQ)) return;
  const index = ctl(T_REQUEST_INDEX) & 1;
  const base = index == 0 ? tableBase0 : tableBase1;
  const previous = ctl(T_ACTIVE_INDEX);
  if (loadTable(base, tableBytes) && egressEntriesValid(egressEntries, egressCount)) {
    setCtl(T_ACTIVE_INDEX, index);
    applyEgressTable();
    bumpEpoch();
    count(C_TABLE_SWAPS);
  } else if (previous == 0xffffffff || !loadTable(previous == 0 ? tableBase0 : tableBase1, tableBytes)) {
    // Refused, and the old table (if any) is cached again.
    clearTable();
  }
  atomic.store<u32>(controlBlock + T_ACK_SEQ, seq);
}

/**
 * Processes `n` packets in slots 0..n-1 (lengths at lensBase), writing one verdict byte
 * each at verdictsBase. Returns how many packets were released into the emit area.
 * n = 0 is an idle call: it sweeps more of the flow table.
 */
export function process(n: u32, now: u32): u32 {
  takeRequestedTable();
  resetEmit();
  if (n > batchSlots) n = batchSlots;
  let emitted: u32 = 0;
  let rxBytes: u64 = 0;
  let forwarded: u32 = 0;
  let forwardedBytes: u64 = 0;
  for (let i: u32 = 0; i < n; i++) {
    let len = load<u32>(lensBase + (<usize>i << 2));
    if (len > slotStride) len = slotStride;
    const pkt = slotBase + <usize>i * slotStride;
    const verdict = processPacket(pkt, len, now);
    store<u8>(verdictsBase + i, verdict);
    const bytes = len > vnetHdrLen ? len - vnetHdrLen : 0;
    rxBytes += bytes;
    if (verdict == V_FORWARD) {
      forwarded++;
      forwardedBytes += bytes;
      emitted += emittedByPacket;
    } else {
      count(C_DROP_BASE + <u32>verdict - 1);
    }
  }
  count(C_RX_PACKETS, n);
  count(C_RX_BYTES, rxBytes);
  count(C_FORWARDED_PACKETS, forwarded);
  count(C_FORWARDED_BYTES, forwardedBytes);
  sweepFlows(now, n == 0 ? SWEEP_WHEN_IDLE : SWEEP_PER_BATCH);
  return emitted;
}

/** Frees every expired flow, mapping and fragment now. */
export function sweepAll(now: u32): void {
  takeRequestedTable();
  sweepFlows(now, ctl(S_FLOW_HIGH_WATER));
  sweepFragments(now);
}

/** See nat/flow-export.ts. Returns the next cursor; exportedCount() says how many. */
export function exportFlows(cursor: u32, now: u32): u32 {
  return exportFlowRecords(cursor, now);
}

export function exportedCount(): u32 {
  return exported;
}

export function importFlows(n: u32, now: u32): u32 {
  takeRequestedTable();
  return importFlowRecords(n, now);
}

export function flowCount(): u32 {
  return liveFlows();
}

export function mappingCount(): u32 {
  return ctl(S_MAPPING_COUNT);
}

export function counterCount(): u32 {
  return COUNTER_COUNT;
}

export function countersAddress(): usize {
  return controlBlock + COUNTERS;
}

/**
 * Resolves `n` (src, dst) pairs, host order u32 each, placed at the start of the export
 * area, and writes each pair's egress address (host order, or 0 when nothing translates
 * it) into a u32 array right after the pairs. For diagnostics ("which address would this pod leave with?") and for
 * measuring the policy table without the rest of the packet path.
 */
export function resolveBatch(n: u32): u32 {
  takeRequestedTable();
  const max = (exportRecords * EXPORT_RECORD_SIZE) / 12;
  if (n > max) n = max;
  const results = exportBase + (<usize>n << 3);
  let translated: u32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const pair = exportBase + (<usize>i << 3);
    const e = resolveEgress(load<u32>(pair), load<u32>(pair, 4));
    const result = results + (<usize>i << 2);
    if (e >= 0) {
      store<u32>(result, load<u32>(egressEntry(<u32>e), E_IP));
      translated++;
    } else {
      store<u32>(result, 0);
    }
  }
  return translated;
}

/**
 * Ports taken on an egress slot for one protocol (6, 17 or 1): a read of the bitmap,
 * safe from another thread while batches run (a slightly stale count at worst).
 */
export function portsInUse(slot: u32, proto: u32): u32 {
  if (slot >= maxEgress) return 0;
  return countPortsInUse(slot, proto);
}

/** For the memory report: the configured capacities as the core sees them. */
export function capacity(which: u32): u32 {
  return which == 0 ? maxFlows : maxEgress;
}
