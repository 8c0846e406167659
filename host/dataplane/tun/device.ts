/**
 * A packet device as the dataplane loop sees it: a Linux TUN queue (linux-tun.ts) or an
 * in-memory fake (channel-tun.ts). One batch shape everywhere (wireguard-go's
 * `Read(bufs, sizes, offset)`): packets move between the device and a shared WebAssembly.Memory
 * at byte offsets the caller chooses, each preceded by `vnetHdrLen` bytes of
 * virtio_net_hdr, with no copy on the Linux side.
 */
export interface PacketDevice {
  readonly name: string;
  /** Bytes of virtio_net_hdr before every packet, read and written: 0, 10 or 12. */
  readonly vnetHdrLen: number;
  readonly stats: DeviceStats;

  /**
   * Waits up to `timeoutMs` for a packet. True when one may be read (a read can still
   * find nothing). Throws TunGoneError when the device is gone.
   */
  waitReadable(timeoutMs: number): boolean;

  /**
   * Reads up to `max` packets without waiting: packet i goes to `memory` at
   * `offsets[i]`, at most `capacity` bytes, and its length (header included) to
   * `lens[i]`. Stops early when nothing is left. Returns how many were read.
   * Throws TunGoneError when the device is gone.
   */
  readBatch(
    memory: WebAssembly.Memory,
    offsets: Uint32Array,
    capacity: number,
    lens: Uint32Array,
    max: number,
  ): number;

  /**
   * Writes `count` packets, packet i being `lens[i]` bytes at `offsets[i]`. A packet the
   * device refuses is counted in `stats.writeErrors` and skipped. Returns how many were
   * taken. Throws TunGoneError when the device is gone.
   */
  writeBatch(
    memory: WebAssembly.Memory,
    offsets: Uint32Array,
    lens: Uint32Array,
    count: number,
  ): number;

  close(): void;
}

/** Cumulative figures of one device; only grow. `*Calls` count system calls (or fakes). */
export interface DeviceStats {
  pollCalls: number;
  readCalls: number;
  writeCalls: number;
  packetsRead: number;
  bytesRead: number;
  packetsWritten: number;
  bytesWritten: number;
  /** Writes refused (EIO while the device is down, EINVAL for a bad virtio header, ...). */
  writeErrors: number;
  /** errno name of the last refused write, '' if none. */
  lastWriteError: string;
}

export function emptyDeviceStats(): DeviceStats {
  return {
    pollCalls: 0,
    readCalls: 0,
    writeCalls: 0,
    packetsRead: 0,
    bytesRead: 0,
    packetsWritten: 0,
    bytesWritten: 0,
    writeErrors: 0,
    lastWriteError: '',
  };
}

/**
 * The largest packet a TUN read can return: an IPv4 GSO super-packet is up to 64 KiB
 * (its total length is 16 bits), and reads of ~65 KB were measured with MTU 1500 and
 * TSO on. A slot smaller than this plus the virtio header would truncate packets.
 */
export const MAX_PACKET_BYTES = 65_536;

export function readCapacityFor(vnetHdrLen: number): number {
  return MAX_PACKET_BYTES + vnetHdrLen;
}
