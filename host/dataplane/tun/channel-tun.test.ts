import { describe, expect, it } from 'vitest';
import { ChannelTun } from './channel-tun.ts';
import { TunGoneError } from './errors.ts';

describe('ChannelTun', () => {
  it('reads injected packets into memory at the given offsets, in order', () => {
    const tun = new ChannelTun('chan0', 10);
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    tun.inject(Uint8Array.of(1, 2, 3), Uint8Array.of(4, 5), Uint8Array.of(6));
    const offsets = Uint32Array.of(100, 200, 300);
    const lens = new Uint32Array(3);
    expect(tun.waitReadable(10)).toBe(true);
    expect(tun.readBatch(memory, offsets, 64, lens, 2)).toBe(2);
    const bytes = new Uint8Array(memory.buffer);
    expect([...bytes.subarray(100, 103)]).toEqual([1, 2, 3]);
    expect([...bytes.subarray(200, 202)]).toEqual([4, 5]);
    expect([...lens]).toEqual([3, 2, 0]);
    expect(tun.pending).toBe(1);
    expect(tun.readBatch(memory, offsets, 64, lens, 3)).toBe(1);
    expect(tun.waitReadable(10)).toBe(false);
    expect(tun.readBatch(memory, offsets, 64, lens, 3)).toBe(0);
    expect(tun.stats.packetsRead).toBe(3);
  });

  it('cuts a packet longer than the slot, as a short TUN read does', () => {
    const tun = new ChannelTun();
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    tun.inject(new Uint8Array(10).fill(7));
    const lens = new Uint32Array(1);
    tun.readBatch(memory, Uint32Array.of(0), 4, lens, 1);
    expect(lens[0]).toBe(4);
    expect(new Uint8Array(memory.buffer)[4]).toBe(0);
  });

  it('records written packets as copies', () => {
    const tun = new ChannelTun();
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    const bytes = new Uint8Array(memory.buffer);
    bytes.set([9, 8, 7], 50);
    expect(tun.writeBatch(memory, Uint32Array.of(50, 51), Uint32Array.of(3, 1), 2)).toBe(2);
    bytes[50] = 0;
    expect(tun.written.map((p) => [...p])).toEqual([[9, 8, 7], [8]]);
    expect(tun.stats.bytesWritten).toBe(4);
  });

  it('fails every call once removed, like a deleted TUN', () => {
    const tun = new ChannelTun();
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    tun.inject(Uint8Array.of(1));
    tun.remove();
    expect(() => tun.waitReadable(0)).toThrow(TunGoneError);
    expect(() => tun.readBatch(memory, Uint32Array.of(0), 8, new Uint32Array(1), 1)).toThrow(
      expect.objectContaining({ code: 'EGW_TUN_GONE' }),
    );
    expect(() => tun.writeBatch(memory, Uint32Array.of(0), Uint32Array.of(1), 1)).toThrow(
      TunGoneError,
    );
  });
});
