import { describe, expect, it } from 'vitest';
import type { CoreLayout } from '../core.ts';
import { Verdict } from '../nat-engine.ts';
import { ChannelTun } from '../tun/channel-tun.ts';
import { readCapacityFor } from '../tun/device.ts';
import type { BatchCore } from './core-shape.ts';
import { createWorkerCounters, readWorkerCounters } from './counters.ts';
import { LoopLayoutError, runLoop } from './loop.ts';

const VNET = 10;
const SLOTS = 4;
const STRIDE = readCapacityFor(VNET);
const layout: CoreLayout = {
  slotBase: 64,
  slotStride: STRIDE,
  slotCount: SLOTS,
  lensBase: 64 + SLOTS * STRIDE,
  verdictsBase: 64 + SLOTS * STRIDE + 4 * SLOTS,
  emitBase: 64 + SLOTS * STRIDE + 4 * SLOTS + 8,
  vnetHdrLen: VNET,
};

/**
 * Stands in for the compiled core: the verdict of a packet is `forward` when its first
 * byte after the virtio header is 0x45 (IPv4, 20-byte header), `no_policy` otherwise, and
 * it releases whatever the test queued in `toEmit` into the emit area.
 */
class FakeCore implements BatchCore {
  readonly layout: CoreLayout;
  readonly calls: { count: number; nowMs: number; lens: number[] }[] = [];
  toEmit: Uint8Array[] = [];
  private readonly memory: WebAssembly.Memory;

  constructor(memory: WebAssembly.Memory, coreLayout: CoreLayout = layout) {
    this.memory = memory;
    this.layout = coreLayout;
  }

  processBatch(count: number, nowMs: number): number {
    const { slotBase, slotStride, lensBase, verdictsBase, emitBase, vnetHdrLen } = this.layout;
    const bytes = new Uint8Array(this.memory.buffer);
    const lens = new Uint32Array(this.memory.buffer, lensBase, count);
    this.calls.push({ count, nowMs, lens: [...lens] });
    for (let i = 0; i < count; i++) {
      const first = bytes[slotBase + i * slotStride + vnetHdrLen];
      bytes[verdictsBase + i] = first === 0x45 ? Verdict.forward : Verdict.noPolicy;
    }
    const view = new DataView(this.memory.buffer);
    let record = emitBase;
    for (const packet of this.toEmit) {
      view.setUint32(record, packet.byteLength, true);
      bytes.set(packet, record + 4);
      record = (record + 4 + packet.byteLength + 3) & ~3;
    }
    const emitted = this.toEmit.length;
    this.toEmit = [];
    return emitted;
  }
}

/** A virtio header (zeros) and a packet whose first byte is `first`, then `tag`. */
function packet(first: number, tag: number, length = 28): Uint8Array {
  const bytes = new Uint8Array(VNET + length);
  bytes[VNET] = first;
  bytes[VNET + 1] = tag;
  return bytes;
}

function setup() {
  const memory = new WebAssembly.Memory({ initial: 6, maximum: 16, shared: true });
  const tun = new ChannelTun('chan0', VNET);
  const core = new FakeCore(memory);
  const counters = createWorkerCounters();
  const untilDrained = () => tun.pending === 0 && core.calls.length > 0;
  return { memory, tun, core, counters, untilDrained };
}

describe('runLoop', () => {
  it('makes one core call per batch and writes forwarded packets, then emitted ones', () => {
    const { memory, tun, core, counters, untilDrained } = setup();
    tun.inject(packet(0x45, 1), packet(0x60, 2), packet(0x45, 3, 1500), packet(0x45, 4));
    tun.inject(packet(0x00, 5), packet(0x45, 6));
    core.toEmit = [packet(0x45, 0xe1, 33)];
    const end = runLoop(tun, core, memory, counters, {
      shouldStop: untilDrained,
      nowMs: () => 1234,
    });
    expect(end).toBe('stopped');
    expect(core.calls.map((c) => c.count)).toEqual([4, 2]);
    expect(core.calls[0]!.nowMs).toBe(1234);
    expect(core.calls[0]!.lens).toEqual([VNET + 28, VNET + 28, VNET + 1500, VNET + 28]);
    // Batch 1: 1, 3, 4 forwarded (2 is not IPv4), then the emitted packet; batch 2: 6.
    expect(tun.written.map((p) => p[VNET + 1])).toEqual([1, 3, 4, 0xe1, 6]);
    expect(tun.written[3]!.byteLength).toBe(VNET + 33);
    expect(tun.written[1]!.byteLength).toBe(VNET + 1500);
    const c = readWorkerCounters(counters);
    expect(c.batches).toBe(2);
    expect(c.packets_read).toBe(6);
    expect(c.packets_forwarded).toBe(4);
    expect(c.packets_not_forwarded).toBe(2);
    expect(c.packets_emitted).toBe(1);
    expect(c.packets_written).toBe(5);
    expect(c.bytes_written).toBe(tun.stats.bytesWritten);
  });

  it('flushes the write list when emitted packets outnumber the slots', () => {
    const { memory, tun, core, counters, untilDrained } = setup();
    tun.inject(packet(0x45, 1), packet(0x45, 2), packet(0x45, 3));
    core.toEmit = [5, 6, 7, 8, 9, 10, 11].map((tag, i) => packet(0x45, tag, 20 + i));
    runLoop(tun, core, memory, counters, { shouldStop: untilDrained, nowMs: () => 0 });
    expect(tun.written.map((p) => p[VNET + 1])).toEqual([1, 2, 3, 5, 6, 7, 8, 9, 10, 11]);
    // Unaligned record lengths: each record still starts 4-byte aligned.
    expect(tun.written.slice(3).map((p) => p.byteLength)).toEqual(
      [20, 21, 22, 23, 24, 25, 26].map((n) => VNET + n),
    );
    expect(readWorkerCounters(counters).packets_emitted).toBe(7);
  });

  it('ends with device_gone when the device disappears, counters published', () => {
    const { memory, tun, core, counters } = setup();
    tun.inject(packet(0x45, 1));
    const end = runLoop(tun, core, memory, counters, {
      shouldStop: () => {
        if (core.calls.length === 1) tun.remove();
        return false;
      },
      nowMs: () => 0,
    });
    expect(end).toBe('device_gone');
    expect(readWorkerCounters(counters).packets_written).toBe(1);
  });

  it('stops before touching the device when asked to', () => {
    const { memory, tun, core, counters } = setup();
    tun.inject(packet(0x45, 1));
    expect(runLoop(tun, core, memory, counters, { shouldStop: () => true, nowMs: () => 0 })).toBe(
      'stopped',
    );
    expect(core.calls).toEqual([]);
    expect(tun.pending).toBe(1);
  });

  it('counts idle polls as timeouts', () => {
    const { memory, tun, core, counters } = setup();
    let checks = 0;
    runLoop(tun, core, memory, counters, { shouldStop: () => ++checks > 3, nowMs: () => 0 });
    const c = readWorkerCounters(counters);
    expect(c.poll_timeouts).toBe(3);
    expect(c.batches).toBe(0);
  });

  it('lets a core failure through', () => {
    const { memory, tun, counters } = setup();
    const broken: BatchCore = {
      layout,
      processBatch: () => {
        throw new Error('unreachable executed');
      },
    };
    tun.inject(packet(0x45, 1));
    expect(() =>
      runLoop(tun, broken, memory, counters, { shouldStop: () => false, nowMs: () => 0 }),
    ).toThrow('unreachable executed');
  });

  it('refuses layouts that would truncate packets or mismatch the device', () => {
    const { memory, tun, counters } = setup();
    const run = (changes: Partial<CoreLayout>, device = tun) =>
      runLoop(device, new FakeCore(memory, { ...layout, ...changes }), memory, counters, {
        shouldStop: () => true,
        nowMs: () => 0,
      });
    expect(() => run({ slotStride: 2048 })).toThrow(LoopLayoutError);
    expect(() => run({}, new ChannelTun('chan1', 12))).toThrow(/12/);
    expect(() => run({ slotCount: 0 })).toThrow(LoopLayoutError);
    expect(() => run({ slotCount: 1000 })).toThrow(/past the memory/);
    expect(() => run({ lensBase: layout.lensBase + 2 })).toThrow(
      expect.objectContaining({ code: 'EGW_WORKER_LAYOUT' }),
    );
  });
});
