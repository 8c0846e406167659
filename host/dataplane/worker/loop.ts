import type { CoreLayout } from '../core.ts';
import { Verdict } from '../nat-engine.ts';
import { type PacketDevice, readCapacityFor } from '../tun/device.ts';
import { isTunGone } from '../tun/errors.ts';
import type { BatchCore } from './core-shape.ts';
import { workerCounterIndex as at } from './counters.ts';

export interface LoopOptions {
  /**
   * Longest wait for a packet; the loop looks at `shouldStop` at least this often, so it
   * bounds how long a stop takes. 50 ms keeps a stop well under 100 ms.
   */
  pollTimeoutMs?: number;
  /** Checked before every batch; true ends the loop. Must be cheap. */
  shouldStop: () => boolean;
  /** Milliseconds modulo 2^32 for the core (worker/clock.ts). */
  nowMs: () => number;
}

export type LoopEnd = 'stopped' | 'device_gone';

export class LoopLayoutError extends Error {
  readonly code = 'EGW_WORKER_LAYOUT';

  constructor(message: string) {
    super(message);
    this.name = 'LoopLayoutError';
  }
}

/**
 * The dataplane loop: wait, read a batch straight into the core's slots, one call into
 * the core, write out the forwarded packets and then the emitted ones, repeat.
 * Nothing is allocated per batch. Returns when `shouldStop()` says so or the device is
 * gone; any other error propagates.
 */
export function runLoop(
  device: PacketDevice,
  core: BatchCore,
  memory: WebAssembly.Memory,
  counters: Float64Array,
  options: LoopOptions,
): LoopEnd {
  const layout = core.layout;
  checkLayout(layout, device, memory);
  const pollTimeoutMs = options.pollTimeoutMs ?? 50;
  const { shouldStop, nowMs } = options;
  const slots = layout.slotCount;
  const buffer = memory.buffer;
  const lens = new Uint32Array(buffer, layout.lensBase, slots);
  const verdicts = new Uint8Array(buffer, layout.verdictsBase, slots);
  const view = new DataView(buffer);
  const slotOffsets = new Uint32Array(slots);
  for (let i = 0; i < slots; i++) slotOffsets[i] = layout.slotBase + i * layout.slotStride;
  // The write list: forwarded slots, then emitted records, flushed whenever it fills.
  const outOffsets = new Uint32Array(slots);
  const outLens = new Uint32Array(slots);
  const stats = device.stats;

  let batches = 0;
  let pollTimeouts = 0;
  let forwarded = 0;
  let notForwarded = 0;
  let emittedTotal = 0;

  const publish = (): void => {
    counters[at.poll_calls] = stats.pollCalls;
    counters[at.poll_timeouts] = pollTimeouts;
    counters[at.read_calls] = stats.readCalls;
    counters[at.write_calls] = stats.writeCalls;
    counters[at.batches] = batches;
    counters[at.packets_read] = stats.packetsRead;
    counters[at.bytes_read] = stats.bytesRead;
    counters[at.packets_forwarded] = forwarded;
    counters[at.packets_not_forwarded] = notForwarded;
    counters[at.packets_emitted] = emittedTotal;
    counters[at.packets_written] = stats.packetsWritten;
    counters[at.bytes_written] = stats.bytesWritten;
    counters[at.write_errors] = stats.writeErrors;
  };

  try {
    for (;;) {
      if (shouldStop()) return 'stopped';
      if (!device.waitReadable(pollTimeoutMs)) {
        pollTimeouts++;
        // An idle call: the core takes a requested policy table and sweeps more of its
        // flow table, so neither waits for traffic.
        core.processBatch(0, nowMs());
        publish();
        continue;
      }
      const count = device.readBatch(memory, slotOffsets, layout.slotStride, lens, slots);
      if (count === 0) continue;
      const emitted = core.processBatch(count, nowMs());
      batches++;

      let pending = 0;
      for (let i = 0; i < count; i++) {
        if (verdicts[i] !== Verdict.forward) continue;
        outOffsets[pending] = slotOffsets[i]!;
        outLens[pending] = lens[i]!;
        pending++;
      }
      forwarded += pending;
      notForwarded += count - pending;

      let record = layout.emitBase;
      for (let j = 0; j < emitted; j++) {
        if (pending === slots) {
          device.writeBatch(memory, outOffsets, outLens, pending);
          pending = 0;
        }
        const len = view.getUint32(record, true);
        outOffsets[pending] = record + 4;
        outLens[pending] = len;
        pending++;
        record = (record + 4 + len + 3) & ~3;
      }
      emittedTotal += emitted;
      if (pending > 0) device.writeBatch(memory, outOffsets, outLens, pending);
      publish();
    }
  } catch (err) {
    if (isTunGone(err)) return 'device_gone';
    throw err;
  } finally {
    publish();
  }
}

function checkLayout(layout: CoreLayout, device: PacketDevice, memory: WebAssembly.Memory): void {
  const need = readCapacityFor(layout.vnetHdrLen);
  if (layout.vnetHdrLen !== device.vnetHdrLen) {
    throw new LoopLayoutError(
      `core expects ${layout.vnetHdrLen}-byte virtio headers, device ${device.name} has ${device.vnetHdrLen}`,
    );
  }
  if (!(layout.slotCount > 0 && Number.isInteger(layout.slotCount))) {
    throw new LoopLayoutError(`slotCount must be a positive integer, not ${layout.slotCount}`);
  }
  if (layout.slotStride < need) {
    throw new LoopLayoutError(
      `slots of ${layout.slotStride} bytes cannot hold a 64 KiB packet and its header (${need})`,
    );
  }
  const end = layout.slotBase + layout.slotCount * layout.slotStride;
  if (end > memory.buffer.byteLength) {
    throw new LoopLayoutError(`slots end at ${end}, past the memory (${memory.buffer.byteLength})`);
  }
  if (layout.lensBase % 4 !== 0) {
    throw new LoopLayoutError(`lensBase ${layout.lensBase} is not 4-byte aligned`);
  }
}
