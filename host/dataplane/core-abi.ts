/**
 * Offsets into the core's control block and the sizes of its records, as the core
 * defines them in assembly/control.ts, assembly/layout.ts and assembly/nat/flow-export.ts.
 * core-abi.test.ts reads those files and checks every value here against them.
 */
export const ABI_VERSION = 1;

export const CFG_MAX_FLOWS = 16;
export const CFG_MAX_EGRESS = 20;
export const CFG_BATCH_SLOTS = 24;
export const CFG_SLOT_STRIDE = 28;
export const CFG_VNET_HDR_LEN = 32;
export const CFG_SEED = 36;
export const CFG_TABLE_BYTES = 40;
export const CFG_EXPORT_RECORDS = 44;
export const CFG_TCP_ESTABLISHED_MS = 48;
export const CFG_TCP_TRANSITORY_MS = 52;
export const CFG_TCP_TIME_WAIT_MS = 56;
export const CFG_TCP_CLOSED_MS = 60;
export const CFG_UDP_MS = 64;
export const CFG_ICMP_MS = 68;
export const CFG_FRAGMENT_MS = 72;

export const L_SLOT_BASE = 128;
export const L_LENS_BASE = 132;
export const L_VERDICTS_BASE = 136;
export const L_EMIT_BASE = 140;
export const L_EMIT_CAPACITY = 144;
export const L_TABLE_BASE_0 = 148;
export const L_TABLE_BASE_1 = 152;
export const L_EXPORT_BASE = 156;
export const L_MEMORY_END = 160;
export const L_CONNTRACK_BYTES = 164;

export const T_REQUEST_SEQ = 192;
export const T_REQUEST_INDEX = 196;
export const T_ACK_SEQ = 200;
export const T_ACTIVE_INDEX = 204;

export const EXPORT_RECORD_SIZE = 32;

/** init() and attach() results. */
export const INIT_OK = 0;
export const INIT_BAD_CONFIG = 1;
export const INIT_NO_MEMORY = 2;

/** The WebAssembly memory the core imports: pages of 64 KiB. */
export const MEMORY_INITIAL_PAGES = 64;
export const MEMORY_MAXIMUM_PAGES = 32768;
