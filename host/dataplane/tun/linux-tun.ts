import { ErrnoError, NativeArgumentError } from '../native/errors.ts';
import {
  checkInterfaceName,
  close,
  errnoName,
  fcntl,
  ioctlPointer,
  ioctlValue,
  open,
  pollIn,
  readAt,
  writeAt,
} from '../native/ffi.ts';
import {
  EAGAIN,
  EBADF,
  EBADFD,
  EINTR,
  EINVAL,
  ENODEV,
  F_GETFL,
  F_SETFL,
  IFF_MULTI_QUEUE,
  IFF_NO_PI,
  IFF_TUN,
  IFF_VNET_HDR,
  IFNAMSIZ,
  IFREQ_SIZE,
  O_CLOEXEC,
  O_NONBLOCK,
  O_RDWR,
  POLLNVAL,
  TUN_F_CSUM,
  TUN_F_TSO4,
  TUN_F_TSO6,
  TUN_F_USO4,
  TUN_F_USO6,
  TUNGETFEATURES,
  TUNGETVNETHDRSZ,
  TUNSETIFF,
  TUNSETOFFLOAD,
  TUNSETVNETHDRSZ,
} from '../native/linux.ts';
import { type DeviceStats, emptyDeviceStats, type PacketDevice } from './device.ts';
import { TunGoneError } from './errors.ts';
import { MemoryWindow } from './memory-window.ts';

export interface TunOpenOptions {
  /** Interface name; created if missing (the caller needs CAP_NET_ADMIN). */
  name: string;
  /** virtio_net_hdr size: 10 (plain) or 12 (with num_buffers). Default 10. */
  vnetHdrLen?: 10 | 12;
  /**
   * Open one queue of a multi-queue device; open the same name again for another queue
   * (one per worker). All queues of a device must agree on this flag.
   */
  multiQueue?: boolean;
  /** Ask for checksum and segmentation offloads (default true). */
  offloads?: boolean;
}

/**
 * Offload sets tried in order; the first the kernel accepts wins. TSO hands the
 * dataplane 64 KiB TCP super-packets (worth >10x in throughput here, see DESIGN.md);
 * USO does the same for UDP_SEGMENT senders but needs Linux 6.2. EINVAL means "not
 * supported here": fall back. Without CSUM no segmentation offload is allowed at all.
 */
export const offloadAttempts: readonly number[] = [
  TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_USO4 | TUN_F_USO6,
  TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6,
  TUN_F_CSUM,
  0,
];

const offloadNames: [number, string][] = [
  [TUN_F_CSUM, 'csum'],
  [TUN_F_TSO4, 'tso4'],
  [TUN_F_TSO6, 'tso6'],
  [TUN_F_USO4, 'uso4'],
  [TUN_F_USO6, 'uso6'],
];

export function offloadFlagNames(flags: number): string[] {
  return offloadNames.filter(([bit]) => (flags & bit) !== 0).map(([, name]) => name);
}

/**
 * One queue of a Linux TUN device in IFF_TUN | IFF_NO_PI | IFF_VNET_HDR mode, nonblocking.
 * Reads and writes go straight between the kernel and a shared WebAssembly.Memory.
 */
export class LinuxTun implements PacketDevice {
  readonly fd: number;
  readonly name: string;
  readonly vnetHdrLen: number;
  /** TUN_F_* flags the kernel accepted (0 when not asked for; null: opened elsewhere). */
  readonly offloads: number | null;
  readonly stats: DeviceStats = emptyDeviceStats();
  private readonly window = new MemoryWindow();
  private closed = false;

  private constructor(fd: number, name: string, vnetHdrLen: number, offloads: number | null) {
    this.fd = fd;
    this.name = name;
    this.vnetHdrLen = vnetHdrLen;
    this.offloads = offloads;
  }

  static open(options: TunOpenOptions): LinuxTun {
    checkInterfaceName(options.name);
    const vnetHdrLen = options.vnetHdrLen ?? 10;
    if (vnetHdrLen !== 10 && vnetHdrLen !== 12) {
      throw new NativeArgumentError(`vnetHdrLen must be 10 or 12, not ${vnetHdrLen}`);
    }
    const fd = open('/dev/net/tun', O_RDWR | O_CLOEXEC);
    try {
      const ifr = new Uint8Array(IFREQ_SIZE);
      const ifrView = new DataView(ifr.buffer);
      new TextEncoder().encodeInto(options.name, ifr.subarray(0, IFNAMSIZ - 1));
      const flags = IFF_TUN | IFF_NO_PI | IFF_VNET_HDR | (options.multiQueue ? IFF_MULTI_QUEUE : 0);
      ifrView.setUint16(IFNAMSIZ, flags, true);
      ioctlPointer(fd, TUNSETIFF, ifr);
      const name = new TextDecoder().decode(ifr.subarray(0, ifr.indexOf(0)));

      const size = new Uint8Array(4);
      new DataView(size.buffer).setInt32(0, vnetHdrLen, true);
      ioctlPointer(fd, TUNSETVNETHDRSZ, size); // takes a pointer, unlike TUNSETOFFLOAD

      const offloads = options.offloads === false ? 0 : setBestOffloads(fd);
      fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK);
      return new LinuxTun(fd, name, vnetHdrLen, offloads);
    } catch (err) {
      close(fd);
      throw err;
    }
  }

  /**
   * Wraps a queue another thread opened (a worker gets the descriptor; descriptors are
   * process-wide). The virtio header size is read back from the kernel; offloads are
   * what the opener negotiated and are not touched.
   */
  static fromFd(fd: number, name: string): LinuxTun {
    if (!Number.isInteger(fd) || fd < 0) throw new NativeArgumentError(`bad descriptor ${fd}`);
    const size = new Uint8Array(4);
    try {
      ioctlPointer(fd, TUNGETVNETHDRSZ, size);
      fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK);
    } catch (err) {
      if (err instanceof ErrnoError && isGoneErrno(err.errno)) {
        throw new TunGoneError(name, `${err.syscall}: ${err.errnoName}`);
      }
      throw err;
    }
    return new LinuxTun(fd, name, new DataView(size.buffer).getInt32(0, true), null);
  }

  /** IFF_* flags this kernel's TUN driver supports (TUNGETFEATURES). */
  static features(): number {
    const fd = open('/dev/net/tun', O_RDWR | O_CLOEXEC);
    try {
      const out = new Uint8Array(4);
      ioctlPointer(fd, TUNGETFEATURES, out);
      return new DataView(out.buffer).getUint32(0, true);
    } finally {
      close(fd);
    }
  }

  waitReadable(timeoutMs: number): boolean {
    for (;;) {
      this.stats.pollCalls++;
      const revents = pollIn(this.fd, timeoutMs);
      if (revents >= 0) {
        // A queue of a deleted device polls POLLERR: report it readable so that the read
        // that follows gets EBADFD and ends the loop. POLLNVAL: the descriptor was closed.
        if ((revents & POLLNVAL) !== 0) throw new TunGoneError(this.name, 'descriptor closed');
        return revents !== 0;
      }
      if (-revents !== EINTR) throw this.error('poll', -revents);
    }
  }

  readBatch(
    memory: WebAssembly.Memory,
    offsets: Uint32Array,
    capacity: number,
    lens: Uint32Array,
    max: number,
  ): number {
    const fd = this.fd;
    const stats = this.stats;
    let count = 0;
    while (count < max) {
      const address = this.window.addressOf(memory, offsets[count]!, capacity);
      stats.readCalls++;
      const n = readAt(fd, address, capacity);
      if (n >= 0) {
        lens[count] = n;
        stats.bytesRead += n;
        count++;
        continue;
      }
      if (-n === EAGAIN) break;
      if (-n !== EINTR) throw this.error('read', -n);
    }
    stats.packetsRead += count;
    return count;
  }

  writeBatch(
    memory: WebAssembly.Memory,
    offsets: Uint32Array,
    lens: Uint32Array,
    count: number,
  ): number {
    const fd = this.fd;
    const stats = this.stats;
    let written = 0;
    for (let i = 0; i < count; i++) {
      const len = lens[i]!;
      const address = this.window.addressOf(memory, offsets[i]!, len);
      for (;;) {
        stats.writeCalls++;
        const n = writeAt(fd, address, len);
        if (n >= 0) {
          written++;
          stats.bytesWritten += n;
          break;
        }
        if (-n === EINTR) continue;
        if (isGoneErrno(-n)) throw this.error('write', -n);
        // EIO (device down), EINVAL (bad virtio header or length), ENOMEM: this packet
        // is lost, the queue is fine.
        stats.writeErrors++;
        stats.lastWriteError = errnoName(-n);
        break;
      }
    }
    stats.packetsWritten += written;
    return written;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    close(this.fd);
  }

  private error(syscall: string, errno: number): Error {
    if (isGoneErrno(errno)) return new TunGoneError(this.name, `${syscall}: ${errnoName(errno)}`);
    return new ErrnoError(syscall, errno, errnoName(errno), this.name);
  }
}

function isGoneErrno(errno: number): boolean {
  return errno === EBADFD || errno === EBADF || errno === ENODEV;
}

function setBestOffloads(fd: number): number {
  for (const flags of offloadAttempts) {
    try {
      ioctlValue(fd, TUNSETOFFLOAD, flags);
      return flags;
    } catch (err) {
      if (!(err instanceof ErrnoError && err.errno === EINVAL)) throw err;
    }
  }
  return 0; // unreachable: flags 0 is always accepted
}
