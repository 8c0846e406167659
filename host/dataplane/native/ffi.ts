import koffi from 'koffi';
import { ErrnoError, NativeArgumentError } from './errors.ts';
import { IFNAMSIZ, POLLIN } from './linux.ts';

/**
 * Every koffi declaration of the project lives here; nothing else imports koffi.
 *
 * Two kinds of wrappers:
 * - hot path (`readAt`, `writeAt`, `pollIn`): take a raw address, return the result or
 *   `-errno`, never throw and never allocate. The dataplane calls them once per packet or
 *   per batch; an exception per EAGAIN would cost more than the read.
 * - control path (everything else): throw `ErrnoError` with the errno's name.
 *
 * Packet memory is passed by address: `memoryAddress(memory.buffer)` is taken once and
 * the syscall gets `base + offset` as an integer. A shared WebAssembly.Memory never moves
 * (V8 reserves its maximum up front), so the address stays valid across `grow()`.
 * Measured here (Node 24, koffi 3.3): a call into libc costs ~40 ns over the C function;
 * `read()` of 64 bytes from /dev/zero takes ~415 ns by address against ~555 ns with
 * `fs.readSync` and ~515 ns with a Buffer argument (koffi then checks and pins it).
 */

const libc = koffi.load('libc.so.6');

// ioctl and fcntl are variadic in C; declaring fixed prototypes is sound on the Linux
// ABIs koffi supports (x86_64 SysV, AAPCS64), where variadic integer arguments travel
// in the same registers as fixed ones, and it avoids koffi's slower variadic calls.
const c = {
  open: libc.func('int open(const char *path, int flags)'),
  close: libc.func('int close(int fd)'),
  ioctlPointer: libc.func('ioctl', 'int', ['int', 'unsigned long', 'void *']),
  ioctlValue: libc.func('ioctl', 'int', ['int', 'unsigned long', 'unsigned long']),
  fcntl: libc.func('fcntl', 'int', ['int', 'int', 'int']),
  read: libc.func('intptr_t read(int fd, uintptr_t buf, size_t count)'),
  write: libc.func('intptr_t write(int fd, uintptr_t buf, size_t count)'),
  poll: libc.func('int poll(void *fds, unsigned long nfds, int timeout)'),
  socket: libc.func('int socket(int domain, int type, int protocol)'),
  bind: libc.func('int bind(int fd, void *addr, uint32_t addrlen)'),
  sendto: libc.func(
    'intptr_t sendto(int fd, void *buf, size_t len, int flags, void *addr, uint32_t addrlen)',
  ),
  recvfrom: libc.func(
    'intptr_t recvfrom(int fd, void *buf, size_t len, int flags, void *addr, void *addrlen)',
  ),
  ifNameToIndex: libc.func('unsigned int if_nametoindex(const char *name)'),
  setns: libc.func('int setns(int fd, int nstype)'),
};

const errnoNames = new Map<number, string>();
for (const [name, value] of Object.entries(koffi.os.errno)) {
  // First wins: EAGAIN before EWOULDBLOCK, ENOTSUP before EOPNOTSUPP.
  if (!errnoNames.has(value)) errnoNames.set(value, name);
}

/** The symbolic name of an errno value ('EAGAIN'), or 'E<number>' when unknown. */
export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `E${errno}`;
}

/** The calling thread's errno after the last FFI call. */
export function lastErrno(): number {
  return koffi.errno();
}

function fail(syscall: string, detail?: string): never {
  const errno = koffi.errno();
  throw new ErrnoError(syscall, errno, errnoName(errno), detail);
}

function checked(result: number, syscall: string, detail?: string): number {
  if (result < 0) fail(syscall, detail);
  return result;
}

/** The native address of an ArrayBuffer's (or SharedArrayBuffer's) first byte. */
export function memoryAddress(buffer: ArrayBufferLike): number {
  const address = Number(koffi.address(buffer));
  if (!Number.isSafeInteger(address) || address === 0) {
    throw new NativeArgumentError(`buffer has no usable native address (${address})`);
  }
  return address;
}

// ---- hot path: result or -errno ----

/** read(2) into `length` bytes at a native address; bytes read or -errno. */
export function readAt(fd: number, address: number, length: number): number {
  const n = c.read(fd, address, length) as number;
  return n < 0 ? -koffi.errno() : n;
}

/** write(2) of `length` bytes at a native address; bytes written or -errno. */
export function writeAt(fd: number, address: number, length: number): number {
  const n = c.write(fd, address, length) as number;
  return n < 0 ? -koffi.errno() : n;
}

// One pollfd { int fd; short events; short revents; } reused by every pollIn call of this
// thread (each worker thread loads its own copy of this module).
const pollFd = Buffer.alloc(8);

/** poll(2) one descriptor for POLLIN; the revents bits, 0 on timeout, or -errno. */
export function pollIn(fd: number, timeoutMs: number): number {
  pollFd.writeInt32LE(fd, 0);
  pollFd.writeInt16LE(POLLIN, 4);
  pollFd.writeInt16LE(0, 6);
  const n = c.poll(pollFd, 1, timeoutMs) as number;
  if (n < 0) return -koffi.errno();
  return n === 0 ? 0 : pollFd.readUInt16LE(6);
}

// ---- control path: throw ErrnoError ----

export function open(path: string, flags: number): number {
  return checked(c.open(path, flags) as number, 'open', path);
}

export function close(fd: number): void {
  checked(c.close(fd) as number, 'close');
}

/** ioctl(2) whose argument is a pointer to `arg` (read and written in place). */
export function ioctlPointer(fd: number, request: number, arg: Uint8Array): number {
  return checked(c.ioctlPointer(fd, request, arg) as number, 'ioctl', hex(request));
}

/** ioctl(2) whose argument is an integer passed by value (e.g. TUNSETOFFLOAD). */
export function ioctlValue(fd: number, request: number, value: number): number {
  return checked(c.ioctlValue(fd, request, value) as number, 'ioctl', hex(request));
}

export function fcntl(fd: number, command: number, arg: number): number {
  return checked(c.fcntl(fd, command, arg) as number, 'fcntl');
}

export function socket(domain: number, type: number, protocol: number): number {
  return checked(c.socket(domain, type, protocol) as number, 'socket');
}

export function bind(fd: number, address: Uint8Array): void {
  checked(c.bind(fd, address, address.byteLength) as number, 'bind');
}

/** sendto(2); bytes sent or -errno (EAGAIN is routine on a nonblocking socket). */
export function sendTo(fd: number, data: Uint8Array, flags: number, address: Uint8Array): number {
  const n = c.sendto(fd, data, data.byteLength, flags, address, address.byteLength) as number;
  return n < 0 ? -koffi.errno() : n;
}

/**
 * recvfrom(2) into `data`; the peer's address lands in `address` and its length in
 * `addressLength[0]` (set it to `address.byteLength` before the call). Bytes or -errno.
 */
export function recvFrom(
  fd: number,
  data: Uint8Array,
  flags: number,
  address: Uint8Array,
  addressLength: Uint32Array,
): number {
  const n = c.recvfrom(fd, data, data.byteLength, flags, address, addressLength) as number;
  return n < 0 ? -koffi.errno() : n;
}

/** if_nametoindex(3) in the calling thread's network namespace. */
export function interfaceIndex(name: string): number {
  checkInterfaceName(name);
  const index = c.ifNameToIndex(name) as number;
  if (index === 0) fail('if_nametoindex', name);
  return index;
}

/** setns(2) for the calling thread only (other threads keep their namespace). */
export function setNamespace(fd: number, nsType: number): void {
  checked(c.setns(fd, nsType) as number, 'setns');
}

/** A descriptor watched by the event loop (libuv) for readability. */
export interface ReadableWatch {
  /** Stops watching; call before closing the descriptor. */
  close(): void;
}

/**
 * Calls `onReadable` from the event loop whenever `fd` is readable (koffi's libuv poll
 * handle): how the main thread serves a nonblocking socket without a thread of its own.
 */
export function watchReadable(fd: number, onReadable: () => void): ReadableWatch {
  const handle = koffi.node.poll(fd, { readable: true }, () => onReadable());
  return { close: () => handle.close() };
}

/** Linux interface names: 1..15 bytes, no '/', whitespace or NUL (dev_valid_name). */
export function checkInterfaceName(name: string): void {
  if (
    name.length === 0 ||
    Buffer.byteLength(name) >= IFNAMSIZ ||
    name === '.' ||
    name === '..' ||
    /[/\s:\0]/.test(name)
  ) {
    throw new NativeArgumentError(`invalid interface name ${JSON.stringify(name)}`);
  }
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}
