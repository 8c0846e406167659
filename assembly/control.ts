// The control block: the one fixed place in memory where the host and the core meet.
// It sits at the first 64-byte boundary after the module's static data, the same
// address in every instance, so a worker thread that instantiates the module against the
// already initialised shared memory finds everything again (attach()).
//
// Everything the core must remember lives in memory, never in WebAssembly globals:
// globals are per instance, memory is shared. The globals below are caches of the
// layout, filled by init() and attach().
//
//   0    ABI version (written by init)          4  ready flag
//   16.. configuration, written by the host before init()
//   128.. region addresses, written by init()
//   192.. table swap handshake
//   256.. core state
//   512.. counters, u64 each (counters.ts)

export const ABI_VERSION: u32 = 1;
export const CONTROL_SIZE: u32 = 4096;

// Configuration.
export const CFG_MAX_FLOWS: usize = 16;
export const CFG_MAX_EGRESS: usize = 20;
export const CFG_BATCH_SLOTS: usize = 24;
export const CFG_SLOT_STRIDE: usize = 28;
export const CFG_VNET_HDR_LEN: usize = 32;
export const CFG_SEED: usize = 36;
export const CFG_TABLE_BYTES: usize = 40;
export const CFG_EXPORT_RECORDS: usize = 44;
export const CFG_TCP_ESTABLISHED_MS: usize = 48;
export const CFG_TCP_TRANSITORY_MS: usize = 52;
export const CFG_TCP_TIME_WAIT_MS: usize = 56;
export const CFG_TCP_CLOSED_MS: usize = 60;
export const CFG_UDP_MS: usize = 64;
export const CFG_ICMP_MS: usize = 68;
export const CFG_FRAGMENT_MS: usize = 72;

// Layout, written by init().
export const L_SLOT_BASE: usize = 128;
export const L_LENS_BASE: usize = 132;
export const L_VERDICTS_BASE: usize = 136;
export const L_EMIT_BASE: usize = 140;
export const L_EMIT_CAPACITY: usize = 144;
export const L_TABLE_BASE_0: usize = 148;
export const L_TABLE_BASE_1: usize = 152;
export const L_EXPORT_BASE: usize = 156;
export const L_MEMORY_END: usize = 160;
export const L_CONNTRACK_BYTES: usize = 164;

// Table swap: the host writes a complete image into the inactive buffer, then stores
// the buffer's index in TABLE_REQUEST_INDEX and bumps TABLE_REQUEST_SEQ (in that order).
// The core switches at the start of the next batch and copies the sequence number to
// TABLE_ACK_SEQ; until then the host must not touch either buffer again.
export const T_REQUEST_SEQ: usize = 192;
export const T_REQUEST_INDEX: usize = 196;
export const T_ACK_SEQ: usize = 200;
export const T_ACTIVE_INDEX: usize = 204;

// Core state.
export const S_EPOCH: usize = 256;
export const S_SWEEP_CURSOR: usize = 260;
export const S_FLOW_COUNT: usize = 264;
export const S_MAPPING_COUNT: usize = 268;
export const S_FREE_FLOW: usize = 272;
export const S_FREE_MAPPING: usize = 276;
export const S_FLOW_HIGH_WATER: usize = 280;
export const S_MAPPING_HIGH_WATER: usize = 284;
export const S_HELD_SEQ: usize = 288;
export const S_EXPORT_COUNT: usize = 292;
export const S_EMIT_USED: usize = 296;

export const COUNTERS: usize = 512;

/**
 * Address of the control block: fixed for the module, whatever the instance. 64 KiB
 * above the static data, so that nothing a runtime might place at __heap_base can reach
 * it (the core allocates nothing, but a stray allocation must not corrupt state).
 */
export const controlBlock: usize = ((__heap_base + 0xffff) & ~(<usize>0xffff)) + 0x10000;

@inline export function ctl(offset: usize): u32 {
  return load<u32>(controlBlock + offset);
}

@inline export function setCtl(offset: usize, value: u32): void {
  store<u32>(controlBlock + offset, value);
}

@inline export function count(index: u32, by: u64 = 1): void {
  const p = controlBlock + COUNTERS + ((<usize>index) << 3);
  store<u64>(p, load<u64>(p) + by);
}
