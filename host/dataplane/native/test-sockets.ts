import { bytesToIpv4, ipv4ToBytes } from '../tun/test-packets.ts';
import { ErrnoError } from './errors.ts';
import { bind, close, errnoName, recvFrom, sendTo, socket } from './ffi.ts';
import { AF_INET, EAGAIN, SOCK_CLOEXEC, SOCK_DGRAM, SOCK_NONBLOCK } from './linux.ts';

/**
 * UDP sockets through the FFI, for tests that must send from inside a network namespace
 * (open them within withNetworkNamespace; they stay in it). Node's dgram cannot: it
 * creates its socket on the event loop, outside the synchronous namespace switch.
 */

/** struct sockaddr_in { u16 family; be16 port; be32 addr; u8 zero[8] } */
export function sockaddrIn(address: string, port: number): Uint8Array {
  const out = new Uint8Array(16);
  const view = new DataView(out.buffer);
  view.setUint16(0, AF_INET, true);
  view.setUint16(2, port);
  out.set(ipv4ToBytes(address), 4);
  return out;
}

export class TestUdpSocket {
  readonly fd: number;

  constructor(address: string, port: number) {
    this.fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    try {
      bind(this.fd, sockaddrIn(address, port));
    } catch (err) {
      close(this.fd);
      throw err;
    }
  }

  sendTo(address: string, port: number, payload: Uint8Array): number {
    return sendTo(this.fd, payload, 0, sockaddrIn(address, port));
  }

  /** One datagram or null (EAGAIN); with the sender's address. */
  receive(): { payload: Uint8Array; from: string; port: number } | null {
    const data = new Uint8Array(65_536);
    const peer = new Uint8Array(16);
    const peerLength = Uint32Array.of(16);
    const n = recvFrom(this.fd, data, 0, peer, peerLength);
    if (n === -EAGAIN) return null;
    if (n < 0) throw new ErrnoError('recvfrom', -n, errnoName(-n));
    return {
      payload: data.slice(0, n),
      from: bytesToIpv4(peer, 4),
      port: (peer[2]! << 8) | peer[3]!,
    };
  }

  close(): void {
    close(this.fd);
  }
}
