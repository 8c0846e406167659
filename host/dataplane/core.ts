import { formatIPv4, parseIPv4 } from '../model/cidr.ts';
import type { EgressAddress, NatPolicy } from '../model/nat-policy.ts';
import * as abi from './core-abi.ts';
import { CoreError } from './core-error.ts';
import type { CoreExports } from './core-exports.ts';
import { loadCoreModule } from './core-module.ts';
import { counterNames } from './counters.ts';
import { type CheckedFlowRecord, checkFlowRecord } from './flow-record.ts';
import {
  type BatchResult,
  defaultTimeouts,
  type FlowRecord,
  type NatEngine,
  type NatEngineConfig,
  type Verdict,
} from './nat-engine.ts';
import { compilePolicyTable, SlotAllocator } from './policy-table.ts';

/** Where the worker finds packets in the core's memory (assembly/README.md). */
export interface CoreLayout {
  /** Packet i (virtio header first) starts at slotBase + i * slotStride. */
  slotBase: number;
  slotStride: number;
  slotCount: number;
  /** u32 length per slot, written by the host before processBatch. */
  lensBase: number;
  /** u8 verdict per slot, written by the core. */
  verdictsBase: number;
  /** Released packets: records of u32 length then bytes, 4-byte aligned. */
  emitBase: number;
  vnetHdrLen: number;
}

export interface CoreConfig extends NatEngineConfig {
  /** Egress addresses the node can serve at once (slots); at most 255. */
  maxEgress: number;
  /** Packets per batch. */
  batchSlots: number;
  /** Bytes per policy table buffer (two are kept). */
  tableBytes: number;
  /** Flow records per export/import call. */
  exportRecords: number;
}

export const defaultCoreConfig: CoreConfig = {
  maxFlows: 1 << 16,
  vnetHdrLen: 10,
  seed: 0x2545f491,
  timeouts: defaultTimeouts,
  maxEgress: 64,
  batchSlots: 64,
  tableBytes: 4 << 20,
  exportRecords: 4096,
};

/** 64 KiB for the largest packet (GSO super-packets), its virtio header, rounded to 64. */
const SLOT_STRIDE = 65536 + 64;

/**
 * The compiled packet core (assembly/), one instance per thread over one shared memory.
 *
 * The thread that owns the dataplane (the worker) calls processBatch with packets it
 * has read straight into the slots; any thread may read counters and request table
 * swaps, because both live in the shared memory (the control block's handshake keeps a
 * swap atomic between batches). The NatEngine methods copy packets in and out and are
 * for tests, tools and the reference comparison; they must not be mixed with a worker
 * running on the same memory.
 */
export class Core implements NatEngine {
  readonly memory: WebAssembly.Memory;
  readonly module: WebAssembly.Module;
  readonly layout: CoreLayout;
  readonly #exports: CoreExports;
  readonly #control: number;
  readonly #slots: SlotAllocator | undefined;
  readonly #maxEgress: number;

  private constructor(
    memory: WebAssembly.Memory,
    module: WebAssembly.Module,
    exports: CoreExports,
  ) {
    this.memory = memory;
    this.module = module;
    this.#exports = exports;
    this.#control = exports.controlBlockAddress();
    const u32 = this.#u32();
    const at = (offset: number): number => u32[(this.#control + offset) >>> 2]!;
    this.layout = {
      slotBase: at(abi.L_SLOT_BASE),
      slotStride: at(abi.CFG_SLOT_STRIDE),
      slotCount: at(abi.CFG_BATCH_SLOTS),
      lensBase: at(abi.L_LENS_BASE),
      verdictsBase: at(abi.L_VERDICTS_BASE),
      emitBase: at(abi.L_EMIT_BASE),
      vnetHdrLen: at(abi.CFG_VNET_HDR_LEN),
    };
    this.#maxEgress = at(abi.CFG_MAX_EGRESS);
    this.#slots = new SlotAllocator(this.#maxEgress);
  }

  /** A new core with its own shared memory, initialised from the configuration. */
  static async create(config: Partial<CoreConfig> = {}): Promise<Core> {
    const full: CoreConfig = {
      ...defaultCoreConfig,
      ...config,
      timeouts: { ...defaultCoreConfig.timeouts, ...config.timeouts },
    };
    const module = await loadCoreModule();
    const memory = new WebAssembly.Memory({
      initial: abi.MEMORY_INITIAL_PAGES,
      maximum: abi.MEMORY_MAXIMUM_PAGES,
      shared: true,
    });
    const exports = instantiate(module, memory);
    writeConfig(memory, exports.controlBlockAddress(), full);
    const result = exports.init();
    if (result === abi.INIT_BAD_CONFIG) {
      throw new CoreError(
        'EGW_CORE_CONFIG',
        `the core refused its configuration: ${describe(full)}`,
      );
    }
    if (result === abi.INIT_NO_MEMORY) {
      throw new CoreError(
        'EGW_CORE_MEMORY',
        `the core could not grow its memory for ${describe(full)}`,
      );
    }
    return new Core(memory, module, exports);
  }

  /** Another instance over an initialised core's memory (a worker thread's). */
  static attach(memory: WebAssembly.Memory, module: WebAssembly.Module): Core {
    const exports = instantiate(module, memory);
    if (exports.attach() !== abi.INIT_OK) {
      throw new CoreError(
        'EGW_CORE_ABI',
        'no initialised core of this version in the given memory',
      );
    }
    return new Core(memory, module, exports);
  }

  /** One batch: the packets are already in slots 0..count-1 with their lengths. */
  processBatch(count: number, nowMs: number): number {
    return this.#exports.process(count, nowMs >>> 0);
  }

  /** Bytes of flow, mapping and index memory per tracked flow. */
  bytesPerFlow(): number {
    const u32 = this.#u32();
    return u32[(this.#control + abi.L_CONNTRACK_BYTES) >>> 2]! / this.#exports.capacity(0);
  }

  mappingCount(): number {
    return this.#exports.mappingCount();
  }

  /** The flow table's capacity (maxFlows). */
  capacity(): number {
    return this.#exports.capacity(0);
  }

  /**
   * The egress address each (src, dst) pair would leave with under the active table, or
   * null: the core's own answer, for diagnostics.
   */
  resolve(pairs: ReadonlyArray<readonly [string, string]>): Array<string | null> {
    const capacity = this.resolveCapacity();
    const answers: Array<string | null> = [];
    for (let first = 0; first < pairs.length; first += capacity) {
      const chunk = pairs.slice(first, first + capacity);
      const area = this.resolveArea(chunk.length);
      chunk.forEach(([src, dst], i) => {
        area.pairs[2 * i] = parseIPv4(src);
        area.pairs[2 * i + 1] = parseIPv4(dst);
      });
      this.resolveInPlace(chunk.length);
      for (let i = 0; i < chunk.length; i++) {
        const egress = area.results[i]!;
        answers.push(egress === 0 ? null : formatIPv4(egress));
      }
    }
    return answers;
  }

  /** How many pairs one resolveInPlace call takes. */
  resolveCapacity(): number {
    const perCall = this.#u32()[(this.#control + abi.CFG_EXPORT_RECORDS) >>> 2]!;
    return Math.floor((perCall * abi.EXPORT_RECORD_SIZE) / 12);
  }

  /** Views of the pairs (src, dst interleaved, host order) and results for n pairs. */
  resolveArea(n: number): { pairs: Uint32Array; results: Uint32Array } {
    const base = this.#u32()[(this.#control + abi.L_EXPORT_BASE) >>> 2]!;
    return {
      pairs: new Uint32Array(this.memory.buffer, base, 2 * n),
      results: new Uint32Array(this.memory.buffer, base + 8 * n, n),
    };
  }

  /** Resolves n pairs already written through resolveArea; returns how many translate. */
  resolveInPlace(n: number): number {
    return this.#exports.resolveBatch(n);
  }

  // --- table swaps -------------------------------------------------------------------

  /** Whether the core has taken the last requested table. */
  tableSwapPending(): boolean {
    const i32 = new Int32Array(this.memory.buffer);
    return (
      Atomics.load(i32, (this.#control + abi.T_REQUEST_SEQ) >>> 2) !==
      Atomics.load(i32, (this.#control + abi.T_ACK_SEQ) >>> 2)
    );
  }

  /**
   * Writes a compiled image into the inactive buffer and asks the core to switch to it
   * at its next batch. Returns the sequence number to wait for. Throws EGW_CORE_BUSY if
   * the previous request has not been taken yet.
   */
  requestTable(image: Uint8Array): number {
    if (this.tableSwapPending()) {
      throw new CoreError('EGW_CORE_BUSY', 'the previous policy table has not been taken yet');
    }
    const u32 = this.#u32();
    const capacity = u32[(this.#control + abi.CFG_TABLE_BYTES) >>> 2]!;
    if (image.length > capacity) {
      throw new CoreError(
        'EGW_CORE_TABLE_REJECTED',
        `policy table image of ${image.length} bytes exceeds the core's ${capacity}-byte buffers`,
      );
    }
    const active = u32[(this.#control + abi.T_ACTIVE_INDEX) >>> 2]!;
    const target = active === 0 ? 1 : 0;
    const base =
      u32[(this.#control + (target === 0 ? abi.L_TABLE_BASE_0 : abi.L_TABLE_BASE_1)) >>> 2]!;
    new Uint8Array(this.memory.buffer, base, image.length).set(image);
    const i32 = new Int32Array(this.memory.buffer);
    Atomics.store(i32, (this.#control + abi.T_REQUEST_INDEX) >>> 2, target);
    const seq = (Atomics.load(i32, (this.#control + abi.T_REQUEST_SEQ) >>> 2) + 1) | 0;
    // The sequence store publishes the image: Atomics orders the plain writes above it.
    Atomics.store(i32, (this.#control + abi.T_REQUEST_SEQ) >>> 2, seq);
    return seq;
  }

  /** After the core acknowledged: whether it accepted the image (else the old one stays). */
  tableAccepted(): boolean {
    const u32 = this.#u32();
    return (
      u32[(this.#control + abi.T_ACTIVE_INDEX) >>> 2]! ===
      u32[(this.#control + abi.T_REQUEST_INDEX) >>> 2]!
    );
  }

  /** Compiles a policy for this core's slots. */
  compile(policy: NatPolicy): Uint8Array {
    const slots = this.#slots!.assign(policy.egress.map((egress) => egress.ip));
    const image = compilePolicyTable(policy, slots, { maxEgress: this.#maxEgress });
    this.#egress = policy.egress.map((egress) => ({ ...egress, slot: slots.get(egress.ip)! }));
    return image;
  }

  #egress: Array<EgressAddress & { slot: number }> = [];

  /**
   * SNAT port use per egress address of the last compiled policy: the busiest protocol's
   * count (ports run out per protocol), and the range size. Reads the core's bitmaps.
   */
  portUse(): Array<{ egressIP: string; inUse: number; rangeSize: number }> {
    return this.#egress.map((egress) => ({
      egressIP: egress.ip,
      inUse: Math.max(...[6, 17, 1].map((proto) => this.#exports.portsInUse(egress.slot, proto))),
      rangeSize: egress.portMax - egress.portMin + 1,
    }));
  }

  // --- NatEngine: copying interface for tests and tools --------------------------------

  /** Compiles and swaps in a policy at once (no worker may be running on this memory). */
  setPolicy(policy: NatPolicy): void {
    this.requestTable(this.compile(policy));
    // Taking the table is the first thing any core call does; sweepAll at the current
    // clock would free flows, so an empty batch is used instead. It does sweep a few
    // records, but only expired ones, which lookups treat as gone anyway.
    this.#exports.process(0, this.#lastNow);
    if (!this.tableAccepted()) {
      throw new CoreError('EGW_CORE_TABLE_REJECTED', 'the core refused the compiled policy table');
    }
  }

  #lastNow = 0;

  process(packets: Uint8Array[], nowMs: number): BatchResult {
    const { slotBase, slotStride, slotCount, lensBase, verdictsBase, emitBase } = this.layout;
    if (packets.length > slotCount) {
      throw new CoreError(
        'EGW_CORE_BATCH',
        `${packets.length} packets exceed the core's ${slotCount} slots`,
      );
    }
    const bytes = new Uint8Array(this.memory.buffer);
    const u32 = this.#u32();
    packets.forEach((packet, i) => {
      if (packet.length > slotStride) {
        throw new CoreError(
          'EGW_CORE_BATCH',
          `a ${packet.length}-byte packet exceeds a ${slotStride}-byte slot`,
        );
      }
      bytes.set(packet, slotBase + i * slotStride);
      u32[(lensBase >>> 2) + i] = packet.length;
    });
    this.#lastNow = nowMs >>> 0;
    const emittedCount = this.#exports.process(packets.length, nowMs >>> 0);
    const verdicts: Verdict[] = [];
    const out: Uint8Array[] = [];
    packets.forEach((packet, i) => {
      verdicts.push(bytes[verdictsBase + i] as Verdict);
      const start = slotBase + i * slotStride;
      out.push(bytes.slice(start, start + packet.length));
    });
    const emitted: Uint8Array[] = [];
    let at = emitBase;
    for (let i = 0; i < emittedCount; i++) {
      const len = u32[at >>> 2]!;
      emitted.push(bytes.slice(at + 4, at + 4 + len));
      at += (4 + len + 3) & ~3;
    }
    return { verdicts, packets: out, emitted };
  }

  sweepAll(nowMs: number): void {
    this.#lastNow = nowMs >>> 0;
    this.#exports.sweepAll(nowMs >>> 0);
  }

  counters(): Record<string, bigint> {
    const base = this.#exports.countersAddress();
    const u64 = new BigUint64Array(this.memory.buffer, base, this.#exports.counterCount());
    const result: Record<string, bigint> = {};
    counterNames.forEach((name, i) => {
      result[name] = u64[i]!;
    });
    return result;
  }

  flowCount(): number {
    return this.#exports.flowCount();
  }

  exportFlows(nowMs: number): FlowRecord[] {
    const records: FlowRecord[] = [];
    const exportBase = this.#u32()[(this.#control + abi.L_EXPORT_BASE) >>> 2]!;
    let cursor = 0;
    do {
      cursor = this.#exports.exportFlows(cursor, nowMs >>> 0) >>> 0;
      const view = new DataView(this.memory.buffer, exportBase);
      for (let i = 0; i < this.#exports.exportedCount(); i++) {
        records.push(decodeFlowRecord(view, i * abi.EXPORT_RECORD_SIZE));
      }
    } while (cursor !== 0xffffffff);
    return records;
  }

  importFlows(records: FlowRecord[], nowMs: number): number {
    const u32 = this.#u32();
    const exportBase = u32[(this.#control + abi.L_EXPORT_BASE) >>> 2]!;
    const perCall = u32[(this.#control + abi.CFG_EXPORT_RECORDS) >>> 2]!;
    let taken = 0;
    for (let first = 0; first < records.length; first += perCall) {
      const chunk = records.slice(first, first + perCall);
      const view = new DataView(this.memory.buffer, exportBase);
      chunk.forEach((record, i) => {
        // A record that fails the field checks goes in as an empty one (state 0), which
        // the core skips and counts like any record it cannot take.
        encodeFlowRecord(view, i * abi.EXPORT_RECORD_SIZE, checkFlowRecord(record));
      });
      taken += this.#exports.importFlows(chunk.length, nowMs >>> 0);
    }
    return taken;
  }

  #u32(): Uint32Array {
    return new Uint32Array(this.memory.buffer);
  }
}

function instantiate(module: WebAssembly.Module, memory: WebAssembly.Memory): CoreExports {
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  return instance.exports as unknown as CoreExports;
}

function writeConfig(memory: WebAssembly.Memory, control: number, config: CoreConfig): void {
  const view = new DataView(memory.buffer);
  const set = (offset: number, value: number): void =>
    view.setUint32(control + offset, value, true);
  set(abi.CFG_MAX_FLOWS, config.maxFlows);
  set(abi.CFG_MAX_EGRESS, config.maxEgress);
  set(abi.CFG_BATCH_SLOTS, config.batchSlots);
  set(abi.CFG_SLOT_STRIDE, SLOT_STRIDE);
  set(abi.CFG_VNET_HDR_LEN, config.vnetHdrLen);
  set(abi.CFG_SEED, config.seed >>> 0);
  set(abi.CFG_TABLE_BYTES, config.tableBytes);
  set(abi.CFG_EXPORT_RECORDS, config.exportRecords);
  const t = config.timeouts;
  set(abi.CFG_TCP_ESTABLISHED_MS, t.tcpEstablishedMs);
  set(abi.CFG_TCP_TRANSITORY_MS, t.tcpTransitoryMs);
  set(abi.CFG_TCP_TIME_WAIT_MS, t.tcpTimeWaitMs);
  set(abi.CFG_TCP_CLOSED_MS, t.tcpClosedMs);
  set(abi.CFG_UDP_MS, t.udpMs);
  set(abi.CFG_ICMP_MS, t.icmpMs);
  set(abi.CFG_FRAGMENT_MS, t.fragmentMs);
}

function describe(config: CoreConfig): string {
  return (
    `maxFlows ${config.maxFlows} (a power of two, 16..4194304), maxEgress ${config.maxEgress} (1..255), ` +
    `batchSlots ${config.batchSlots} (1..1024), vnetHdrLen ${config.vnetHdrLen} (0, 10, 12), ` +
    `tableBytes ${config.tableBytes}, exportRecords ${config.exportRecords}`
  );
}

/** Export record layout: assembly/nat/flow-export.ts. Addresses and ports are big-endian. */
function decodeFlowRecord(view: DataView, at: number): FlowRecord {
  return {
    proto: view.getUint8(at),
    state: view.getUint8(at + 1),
    internalIP: formatIPv4(view.getUint32(at + 4)),
    remoteIP: formatIPv4(view.getUint32(at + 8)),
    egressIP: formatIPv4(view.getUint32(at + 12)),
    internalPort: view.getUint16(at + 16),
    remotePort: view.getUint16(at + 18),
    egressPort: view.getUint16(at + 20),
    remainingMs: view.getUint32(at + 24, true),
  };
}

function encodeFlowRecord(view: DataView, at: number, record: CheckedFlowRecord | undefined): void {
  for (let i = 0; i < abi.EXPORT_RECORD_SIZE; i += 4) view.setUint32(at + i, 0);
  if (record === undefined) return;
  view.setUint8(at, record.proto);
  view.setUint8(at + 1, record.state);
  view.setUint32(at + 4, record.internalIP);
  view.setUint32(at + 8, record.remoteIP);
  view.setUint32(at + 12, record.egressIP);
  view.setUint16(at + 16, record.internalPort);
  view.setUint16(at + 18, record.remotePort);
  view.setUint16(at + 20, record.egressPort);
  view.setUint32(at + 24, record.remainingMs, true);
}
