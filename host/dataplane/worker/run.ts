import { type MessagePort, receiveMessageOnPort } from 'node:worker_threads';
import type { CoreLayout } from '../core.ts';
import type { PacketDevice } from '../tun/device.ts';
import { isTunGone } from '../tun/errors.ts';
import { LinuxTun } from '../tun/linux-tun.ts';
import { monotonicMs } from './clock.ts';
import type { BatchCore } from './core-shape.ts';
import { type LoopEnd, runLoop } from './loop.ts';

/**
 * Which TUN queue a worker drives: one the main thread opened, or one to open by name
 * (in the worker thread's network namespace). A handed-over descriptor stays the main
 * thread's: it must stop the worker before closing it, or the number could be reused by
 * another file while the worker still writes to it.
 */
export type WorkerTun = { fd: number; name: string } | { name: string; multiQueue?: boolean };

/** workerData of a dataplane worker; everything in it survives structured cloning. */
export interface WorkerInit {
  /** The core's shared WebAssembly.Memory, already initialised by the main thread. */
  memory: WebAssembly.Memory;
  /** The compiled core (a WebAssembly.Module), instantiated again in the worker. */
  module: WebAssembly.Module;
  tun: WorkerTun;
  /** Where the batch lives; the attached core's own layout when omitted. */
  layout?: CoreLayout;
  /** Shared Int32Array; a non-zero CONTROL_STOP asks the loop to stop. */
  control: Int32Array;
  /** Shared Float64Array of workerCounterNames. */
  counters: Float64Array;
  pollTimeoutMs?: number;
}

export const CONTROL_STOP = 0;
export const CONTROL_SLOTS = 1;

export type AttachCore = (memory: WebAssembly.Memory, module: WebAssembly.Module) => BatchCore;

/** A stop request sent as a message (the flag in `control` is the fast path). */
export interface StopMessage {
  type: 'stop';
}

/**
 * The body of a dataplane worker thread: attach the core, open (or adopt) the TUN
 * queue, run the loop until told to stop or the device is gone. Messages can only be
 * seen between batches (the loop never yields to the event loop), so `port` is polled
 * with receiveMessageOnPort, ~36 ns when empty.
 */
export function runWorker(init: WorkerInit, attach: AttachCore, port: MessagePort | null): LoopEnd {
  const core = attach(init.memory, init.module);
  const layout = init.layout ?? core.layout;
  let device: PacketDevice;
  try {
    device = openDevice(init.tun, layout.vnetHdrLen);
  } catch (err) {
    if (isTunGone(err)) return 'device_gone';
    throw err;
  }
  const shouldStop = createStopCheck(init.control, port);
  try {
    return runLoop(
      device,
      { layout, processBatch: (count, nowMs) => core.processBatch(count, nowMs) },
      init.memory,
      init.counters,
      { shouldStop, nowMs: monotonicMs, pollTimeoutMs: init.pollTimeoutMs },
    );
  } finally {
    // A descriptor handed over by the main thread belongs to it; one opened here is ours.
    if (!('fd' in init.tun)) device.close();
  }
}

/**
 * True once a stop was asked for, by the shared flag (what DataplaneWorker uses) or by a
 * { type: 'stop' } message on `port` (for whoever holds only the port).
 */
export function createStopCheck(control: Int32Array, port: MessagePort | null): () => boolean {
  let stopMessage = false;
  return () => {
    if (stopMessage || Atomics.load(control, CONTROL_STOP) !== 0) return true;
    if (port !== null) {
      const received = receiveMessageOnPort(port);
      if (received !== undefined && (received.message as StopMessage)?.type === 'stop') {
        stopMessage = true;
      }
    }
    return stopMessage;
  };
}

function openDevice(tun: WorkerTun, vnetHdrLen: number): PacketDevice {
  if ('fd' in tun) return LinuxTun.fromFd(tun.fd, tun.name);
  if (vnetHdrLen !== 10 && vnetHdrLen !== 12) {
    throw new RangeError(`the core's vnetHdrLen ${vnetHdrLen} is not 10 or 12`);
  }
  return LinuxTun.open({ name: tun.name, multiQueue: tun.multiQueue, vnetHdrLen });
}
