import { ErrnoError } from '../../dataplane/native/errors.ts';
import {
  bind,
  close,
  errnoName,
  interfaceIndex,
  ioctlPointer,
  type ReadableWatch,
  recvFrom,
  sendTo,
  socket,
  watchReadable,
} from '../../dataplane/native/ffi.ts';
import {
  AF_PACKET,
  EAGAIN,
  EINTR,
  ETH_P_ARP,
  IFNAMSIZ,
  IFREQ_SIZE,
  SIOCGIFHWADDR,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_RAW,
} from '../../dataplane/native/linux.ts';
import { macToBytes, readMac } from './frame.ts';

/**
 * struct sockaddr_ll (<linux/if_packet.h>), 20 bytes:
 *   u16 family | be16 protocol | i32 ifindex | u16 hatype | u8 pkttype | u8 halen | u8 addr[8]
 */
const SLL_LEN = 20;
const SLL_PROTOCOL = 2;
const SLL_IFINDEX = 4;
const SLL_PKTTYPE = 10;
const SLL_HALEN = 11;
const SLL_ADDR = 12;

function sockaddrLl(ifindex: number, destinationMac?: string): Uint8Array {
  const out = new Uint8Array(SLL_LEN);
  const view = new DataView(out.buffer);
  view.setUint16(0, AF_PACKET, true);
  view.setUint16(SLL_PROTOCOL, ETH_P_ARP); // network order
  view.setInt32(SLL_IFINDEX, ifindex, true);
  if (destinationMac) {
    out[SLL_HALEN] = 6;
    out.set(macToBytes(destinationMac), SLL_ADDR);
  }
  return out;
}

export interface ReceivedFrame {
  length: number;
  /** sockaddr_ll.sll_pkttype: PACKET_HOST, PACKET_BROADCAST, ..., PACKET_OUTGOING (4). */
  packetType: number;
}

/**
 * An AF_PACKET socket bound to one interface that sees only ARP frames (ETH_P_ARP), in
 * both directions, nonblocking. It must be opened in the interface's network namespace
 * (see withNetworkNamespace); it stays bound to it afterwards.
 */
export class ArpSocket {
  readonly interfaceName: string;
  readonly ifindex: number;
  /** The interface's MAC, as "aa:bb:cc:dd:ee:ff", read once at open. */
  readonly mac: string;
  private readonly fd: number;
  private readonly peer = new Uint8Array(SLL_LEN);
  private readonly peerLength = new Uint32Array(1);
  private watch: ReadableWatch | null = null;
  private closed = false;

  private constructor(fd: number, interfaceName: string, ifindex: number, mac: string) {
    this.fd = fd;
    this.interfaceName = interfaceName;
    this.ifindex = ifindex;
    this.mac = mac;
  }

  static open(interfaceName: string): ArpSocket {
    const ifindex = interfaceIndex(interfaceName);
    // The protocol argument is in network byte order, as in sockaddr_ll.
    const protocol = ((ETH_P_ARP & 0xff) << 8) | (ETH_P_ARP >> 8);
    const fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
    try {
      bind(fd, sockaddrLl(ifindex));
      const ifr = new Uint8Array(IFREQ_SIZE);
      new TextEncoder().encodeInto(interfaceName, ifr.subarray(0, IFNAMSIZ - 1));
      ioctlPointer(fd, SIOCGIFHWADDR, ifr);
      // ifr_hwaddr is a struct sockaddr at 16: u16 sa_family, then the address.
      return new ArpSocket(fd, interfaceName, ifindex, readMac(ifr, IFNAMSIZ + 2));
    } catch (err) {
      close(fd);
      throw err;
    }
  }

  /** One frame into `into`, or null when none is waiting. */
  receive(into: Uint8Array): ReceivedFrame | null {
    for (;;) {
      this.peerLength[0] = SLL_LEN;
      const n = recvFrom(this.fd, into, 0, this.peer, this.peerLength);
      if (n >= 0) return { length: n, packetType: this.peer[SLL_PKTTYPE]! };
      if (-n === EAGAIN) return null;
      if (-n !== EINTR) throw new ErrnoError('recvfrom', -n, errnoName(-n), this.interfaceName);
    }
  }

  /** Sends a whole Ethernet frame; its destination MAC is taken from the frame. */
  send(frame: Uint8Array): void {
    const destination = readMac(frame, 0);
    for (;;) {
      const n = sendTo(this.fd, frame, 0, sockaddrLl(this.ifindex, destination));
      if (n >= 0) return;
      if (-n !== EINTR) throw new ErrnoError('sendto', -n, errnoName(-n), this.interfaceName);
    }
  }

  /** Calls `onReadable` from the event loop whenever frames wait; one watch at a time. */
  onReadable(onReadable: () => void): void {
    this.watch?.close();
    this.watch = watchReadable(this.fd, onReadable);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.watch?.close();
    close(this.fd);
  }
}
