import type { CoreLayout } from '../core.ts';
import { Verdict } from '../nat-engine.ts';
import { readCapacityFor } from '../tun/device.ts';
import type { BatchCore } from './core-shape.ts';

/**
 * A fake core for thread and TUN tests: it forwards every IPv4 packet with its source
 * and destination swapped (see tun/test-packets.ts for why that keeps checksums valid)
 * and marks anything else unsupported. With a TUN whose namespace routes a remote
 * prefix into it, this turns outbound traffic into inbound traffic for local sockets.
 */
export function attachReflector(memory: WebAssembly.Memory, layout: CoreLayout): BatchCore {
  const bytes = new Uint8Array(memory.buffer);
  const { slotBase, slotStride, verdictsBase, vnetHdrLen } = layout;
  return {
    layout,
    processBatch(count: number): number {
      for (let i = 0; i < count; i++) {
        const ip = slotBase + i * slotStride + vnetHdrLen;
        if (bytes[ip]! >> 4 !== 4) {
          bytes[verdictsBase + i] = Verdict.unsupported;
          continue;
        }
        for (let k = 12; k < 16; k++) {
          const t = bytes[ip + k]!;
          bytes[ip + k] = bytes[ip + k + 4]!;
          bytes[ip + k + 4] = t;
        }
        bytes[verdictsBase + i] = Verdict.forward;
      }
      return 0;
    },
  };
}

/**
 * A batch layout of `slots` full-size slots and the memory and module that go with it,
 * for a reflector worker. The module is an empty one: the reflector never instantiates
 * it, but the worker's contract carries one.
 */
export function reflectorSetup(slots: number, vnetHdrLen: number) {
  // Slots rounded up to 64 bytes, like the core's, so every region after them is aligned.
  const stride = Math.ceil(readCapacityFor(vnetHdrLen) / 64) * 64;
  const layout: CoreLayout = {
    slotBase: 0,
    slotStride: stride,
    slotCount: slots,
    lensBase: slots * stride,
    verdictsBase: slots * stride + 4 * slots,
    emitBase: slots * stride + 4 * Math.ceil((5 * slots) / 4),
    vnetHdrLen,
  };
  const pages = Math.ceil((layout.emitBase + 65_536) / 65_536);
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  const module = new WebAssembly.Module(Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0));
  return { layout, memory, module };
}

/** The reflector worker's entry module, next to this file. */
export const reflectorEntry = new URL(
  `./test-reflector-entry.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`,
  import.meta.url,
);
