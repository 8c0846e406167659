// Counter indices into the u64 array at COUNTERS in the control block. The host's list
// (host/dataplane/counters.ts) names them in the same order; a test keeps them equal.
// Counters only grow; the host reads them while batches run (aligned u64 stores are
// single-copy atomic on the hosts we run on).

export const C_RX_PACKETS: u32 = 0;
export const C_RX_BYTES: u32 = 1;
export const C_FORWARDED_PACKETS: u32 = 2;
export const C_FORWARDED_BYTES: u32 = 3;
/** Drop counters follow in verdict order: C_DROP_BASE + verdict - 1. */
export const C_DROP_BASE: u32 = 4;
export const C_FRAGMENTS_RELEASED: u32 = 11;
export const C_FRAGMENTS_EXPIRED: u32 = 12;
export const C_FLOWS_CREATED: u32 = 13;
export const C_FLOWS_EXPIRED: u32 = 14;
export const C_FLOWS_EVICTED: u32 = 15;
export const C_FLOWS_INVALIDATED: u32 = 16;
export const C_MAPPINGS_CREATED: u32 = 17;
export const C_PORTS_PRESERVED: u32 = 18;
export const C_ICMP_ERRORS_TRANSLATED: u32 = 19;
export const C_GSO_PACKETS: u32 = 20;
export const C_TABLE_SWAPS: u32 = 21;
export const C_FLOWS_IMPORTED: u32 = 22;
export const C_FLOWS_IMPORT_SKIPPED: u32 = 23;
export const COUNTER_COUNT: u32 = 24;
