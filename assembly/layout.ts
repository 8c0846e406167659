// Where each region lives, cached from the control block (control.ts) into globals for
// the packet path. init() computes the layout once from the configuration; attach()
// reloads it in another instance over the same memory. Regions are 64-byte aligned.
//
//   control block | lens | verdicts | slots | emit | table 0 | table 1 | export
//   | egress slots | egress hash | port bitmaps | flows | flow index | mappings
//   | mapping index | fragment entries | held fragments

import {
  CFG_BATCH_SLOTS,
  CFG_EXPORT_RECORDS,
  CFG_FRAGMENT_MS,
  CFG_ICMP_MS,
  CFG_MAX_EGRESS,
  CFG_MAX_FLOWS,
  CFG_SEED,
  CFG_SLOT_STRIDE,
  CFG_TABLE_BYTES,
  CFG_TCP_CLOSED_MS,
  CFG_TCP_ESTABLISHED_MS,
  CFG_TCP_TIME_WAIT_MS,
  CFG_TCP_TRANSITORY_MS,
  CFG_UDP_MS,
  CFG_VNET_HDR_LEN,
  CONTROL_SIZE,
  controlBlock,
  ctl,
  L_CONNTRACK_BYTES,
  L_EMIT_BASE,
  L_EMIT_CAPACITY,
  L_EXPORT_BASE,
  L_LENS_BASE,
  L_MEMORY_END,
  L_SLOT_BASE,
  L_TABLE_BASE_0,
  L_TABLE_BASE_1,
  L_VERDICTS_BASE,
  setCtl,
} from './control';

/** Bytes per flow record, mapping record, fragment entry, export record. */
export const FLOW_SIZE: u32 = 16;
export const MAPPING_SIZE: u32 = 16;
export const FRAG_ENTRY_SIZE: u32 = 24;
export const EXPORT_RECORD_SIZE: u32 = 32;
/** Egress slot record: ip (raw) u32, portMin u16, portMax u16, generation u8, live u8. */
export const EGRESS_SLOT_SIZE: u32 = 16;
/** Port bitmap: one bit per port, per egress slot and protocol (TCP, UDP, ICMP). */
export const PORT_BITMAP_BYTES: u32 = 8192;
export const PROTOCOL_KINDS: u32 = 3;

/** Fragment entries: 4-way sets (nat/fragments.ts). */
export const FRAG_SETS: u32 = 256;
export const FRAG_WAYS: u32 = 4;
/** Held fragments: how many, and the largest one kept (a jumbo frame). */
export const HELD_SLOTS: u32 = 64;
export const HELD_MAX_BYTES: u32 = 9216;
export const HELD_HEADER: u32 = 32;
export const HELD_STRIDE: u32 = HELD_HEADER + HELD_MAX_BYTES + 32;

/** Emit area: room for every held fragment at once, with its record header. */
export const EMIT_CAPACITY: u32 = HELD_SLOTS * (HELD_MAX_BYTES + 16 + 8);

// Cached layout. Only init() and attach() write these.
export let slotBase: usize = 0;
export let slotStride: u32 = 0;
export let batchSlots: u32 = 0;
export let lensBase: usize = 0;
export let verdictsBase: usize = 0;
export let emitBase: usize = 0;
export let tableBase0: usize = 0;
export let tableBase1: usize = 0;
export let tableBytes: u32 = 0;
export let exportBase: usize = 0;
export let exportRecords: u32 = 0;
export let egressSlots: usize = 0;
export let maxEgress: u32 = 0;
export let egressHash: usize = 0;
export let egressHashMask: u32 = 0;
export let portBitmaps: usize = 0;
export let flows: usize = 0;
export let maxFlows: u32 = 0;
export let flowIndex: usize = 0;
export let flowIndexMask: u32 = 0;
export let mappings: usize = 0;
export let mappingIndex: usize = 0;
export let mappingIndexMask: u32 = 0;
export let fragEntries: usize = 0;
export let held: usize = 0;
export let vnetHdrLen: u32 = 0;
export let seed: u32 = 0;
export let tcpEstablishedMs: u32 = 0;
export let tcpTransitoryMs: u32 = 0;
export let tcpTimeWaitMs: u32 = 0;
export let tcpClosedMs: u32 = 0;
export let udpMs: u32 = 0;
export let icmpMs: u32 = 0;
export let fragmentMs: u32 = 0;

@inline function align64(value: usize): usize {
  return (value + 63) & ~(<usize>63);
}

/** Fills the cached layout from the control block, region by region. */
export function loadLayout(): void {
  maxFlows = ctl(CFG_MAX_FLOWS);
  maxEgress = ctl(CFG_MAX_EGRESS);
  batchSlots = ctl(CFG_BATCH_SLOTS);
  slotStride = ctl(CFG_SLOT_STRIDE);
  vnetHdrLen = ctl(CFG_VNET_HDR_LEN);
  seed = ctl(CFG_SEED);
  tableBytes = ctl(CFG_TABLE_BYTES);
  exportRecords = ctl(CFG_EXPORT_RECORDS);
  tcpEstablishedMs = ctl(CFG_TCP_ESTABLISHED_MS);
  tcpTransitoryMs = ctl(CFG_TCP_TRANSITORY_MS);
  tcpTimeWaitMs = ctl(CFG_TCP_TIME_WAIT_MS);
  tcpClosedMs = ctl(CFG_TCP_CLOSED_MS);
  udpMs = ctl(CFG_UDP_MS);
  icmpMs = ctl(CFG_ICMP_MS);
  fragmentMs = ctl(CFG_FRAGMENT_MS);

  let p = align64(controlBlock + CONTROL_SIZE);
  lensBase = p;
  p = align64(p + (<usize>batchSlots << 2));
  verdictsBase = p;
  p = align64(p + <usize>batchSlots);
  slotBase = p;
  p = align64(p + <usize>batchSlots * slotStride);
  emitBase = p;
  p = align64(p + EMIT_CAPACITY);
  tableBase0 = p;
  p = align64(p + tableBytes);
  tableBase1 = p;
  p = align64(p + tableBytes);
  exportBase = p;
  p = align64(p + <usize>exportRecords * EXPORT_RECORD_SIZE);
  egressSlots = p;
  p = align64(p + <usize>maxEgress * EGRESS_SLOT_SIZE);
  // Egress hash: open addressing, at most half full.
  let hashSize: u32 = 8;
  while (hashSize < maxEgress * 2) hashSize <<= 1;
  egressHash = p;
  egressHashMask = hashSize - 1;
  p = align64(p + (<usize>hashSize << 3));
  portBitmaps = p;
  p = align64(p + <usize>maxEgress * PROTOCOL_KINDS * PORT_BITMAP_BYTES);
  const conntrackStart = p;
  flows = p;
  p = align64(p + <usize>maxFlows * FLOW_SIZE);
  // Two entries per flow (both directions), at most half full.
  flowIndex = p;
  flowIndexMask = maxFlows * 4 - 1;
  p = align64(p + (<usize>maxFlows << 4));
  mappings = p;
  p = align64(p + <usize>maxFlows * MAPPING_SIZE);
  // One entry per mapping at most, at most half full.
  mappingIndex = p;
  mappingIndexMask = maxFlows * 2 - 1;
  p = align64(p + (<usize>maxFlows << 3));
  const conntrackEnd = p;
  fragEntries = p;
  p = align64(p + <usize>FRAG_SETS * FRAG_WAYS * FRAG_ENTRY_SIZE);
  held = p;
  p = align64(p + <usize>HELD_SLOTS * HELD_STRIDE);

  setCtl(L_LENS_BASE, <u32>lensBase);
  setCtl(L_VERDICTS_BASE, <u32>verdictsBase);
  setCtl(L_SLOT_BASE, <u32>slotBase);
  setCtl(L_EMIT_BASE, <u32>emitBase);
  setCtl(L_EMIT_CAPACITY, EMIT_CAPACITY);
  setCtl(L_TABLE_BASE_0, <u32>tableBase0);
  setCtl(L_TABLE_BASE_1, <u32>tableBase1);
  setCtl(L_EXPORT_BASE, <u32>exportBase);
  setCtl(L_MEMORY_END, <u32>p);
  setCtl(L_CONNTRACK_BYTES, <u32>(conntrackEnd - conntrackStart));
}
