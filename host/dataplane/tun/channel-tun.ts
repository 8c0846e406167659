import { type DeviceStats, emptyDeviceStats, type PacketDevice } from './device.ts';
import { TunGoneError } from './errors.ts';

/**
 * An in-memory PacketDevice for tests without a kernel (wireguard-go's ChannelTUN).
 * `inject()` queues packets for the reader (virtio header included); everything
 * written lands in `written`. `remove()` makes every later call fail the way a deleted
 * TUN does. Single-threaded: waitReadable never sleeps, since nothing could inject while
 * it did.
 */
export class ChannelTun implements PacketDevice {
  readonly name: string;
  readonly vnetHdrLen: number;
  readonly stats: DeviceStats = emptyDeviceStats();
  /** Copies of the packets written, in order. */
  readonly written: Uint8Array[] = [];
  private readonly inbound: Uint8Array[] = [];
  private gone = false;

  constructor(name = 'chan0', vnetHdrLen = 10) {
    this.name = name;
    this.vnetHdrLen = vnetHdrLen;
  }

  inject(...packets: Uint8Array[]): void {
    for (const packet of packets) this.inbound.push(packet.slice());
  }

  /** Packets injected but not read yet. */
  get pending(): number {
    return this.inbound.length;
  }

  /** From now on the device behaves as deleted: every call throws TunGoneError. */
  remove(): void {
    this.gone = true;
    this.inbound.length = 0;
  }

  waitReadable(_timeoutMs: number): boolean {
    this.checkPresent();
    this.stats.pollCalls++;
    return this.inbound.length > 0;
  }

  readBatch(
    memory: WebAssembly.Memory,
    offsets: Uint32Array,
    capacity: number,
    lens: Uint32Array,
    max: number,
  ): number {
    this.checkPresent();
    const bytes = new Uint8Array(memory.buffer);
    let count = 0;
    while (count < max) {
      this.stats.readCalls++;
      const packet = this.inbound.shift();
      if (packet === undefined) break;
      // Like a TUN read into a short buffer, a packet longer than `capacity` is cut.
      const len = Math.min(packet.byteLength, capacity);
      bytes.set(packet.subarray(0, len), offsets[count]!);
      lens[count] = len;
      this.stats.bytesRead += len;
      count++;
    }
    this.stats.packetsRead += count;
    return count;
  }

  writeBatch(
    memory: WebAssembly.Memory,
    offsets: Uint32Array,
    lens: Uint32Array,
    count: number,
  ): number {
    this.checkPresent();
    const bytes = new Uint8Array(memory.buffer);
    for (let i = 0; i < count; i++) {
      this.stats.writeCalls++;
      const offset = offsets[i]!;
      const packet = bytes.slice(offset, offset + lens[i]!);
      this.written.push(packet);
      this.stats.bytesWritten += packet.byteLength;
    }
    this.stats.packetsWritten += count;
    return count;
  }

  close(): void {
    this.gone = true;
  }

  private checkPresent(): void {
    if (this.gone) throw new TunGoneError(this.name, 'removed');
  }
}
