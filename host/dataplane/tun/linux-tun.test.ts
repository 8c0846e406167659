import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NativeArgumentError } from '../native/errors.ts';
import {
  IFF_MULTI_QUEUE,
  IFF_NO_PI,
  IFF_TUN,
  IFF_VNET_HDR,
  VIRTIO_NET_HDR_GSO_NONE,
  VIRTIO_NET_HDR_GSO_TCPV4,
} from '../native/linux.ts';
import { withNetworkNamespace } from '../native/netns.ts';
import { isRoot, TestNamespaces } from '../native/test-namespaces.ts';
import { TestUdpSocket } from '../native/test-sockets.ts';
import { readCapacityFor } from './device.ts';
import { TunGoneError } from './errors.ts';
import { LinuxTun, offloadFlagNames } from './linux-tun.ts';
import { bytesToIpv4, icmpEchoRequest, reflectIpv4 } from './test-packets.ts';
import { decodeVnetHeader, gsoTypeName, needsChecksum, type VnetHeader } from './vnet-header.ts';

// The namespace holds a TUN with 10.77.0.1/24 and a route for 10.78.0.0/24 into it.
// Whatever the namespace sends to 10.78.0.x comes out of the TUN; reflecting it (swapping
// the IPv4 addresses) and writing it back delivers it to the namespace's own sockets on
// 10.77.0.1 as if 10.78.0.x had sent it, so TCP and UDP run end to end through the TUN.
const LOCAL = '10.77.0.1';
const REMOTE = '10.78.0.5';
const VNET = 10;
const SLOTS = 64;
const STRIDE = readCapacityFor(VNET);

describe.skipIf(!isRoot)('LinuxTun in a network namespace', () => {
  const namespaces = new TestNamespaces('tun');
  let ns = '';
  let tun: LinuxTun;
  const memory = new WebAssembly.Memory({
    initial: Math.ceil((SLOTS * STRIDE) / 65_536) + 1,
    maximum: 256,
    shared: true,
  });
  const offsets = Uint32Array.from({ length: SLOTS }, (_, i) => i * STRIDE);
  const lens = new Uint32Array(SLOTS);
  const bytes = new Uint8Array(memory.buffer);

  beforeAll(() => {
    try {
      ns = namespaces.add('a');
      tun = withNetworkNamespace(ns, () => LinuxTun.open({ name: 'egwt0', vnetHdrLen: VNET }));
      namespaces.ip(ns, 'link', 'set', 'egwt0', 'up');
      namespaces.ip(ns, 'addr', 'add', `${LOCAL}/24`, 'dev', 'egwt0');
      namespaces.ip(ns, 'route', 'add', '10.78.0.0/24', 'dev', 'egwt0');
    } catch (err) {
      namespaces.removeAll();
      throw err;
    }
  });

  afterAll(() => {
    tun?.close();
    namespaces.removeAll();
  });

  /** Reads until `accept` takes a packet or the time runs out; other packets are dropped. */
  function readUntil(accept: (offset: number, len: number) => boolean, timeoutMs = 2000): boolean {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!tun.waitReadable(50)) continue;
      const n = tun.readBatch(memory, offsets, STRIDE, lens, SLOTS);
      for (let i = 0; i < n; i++) if (accept(offsets[i]!, lens[i]!)) return true;
    }
    return false;
  }

  it('reports the driver features it relies on', () => {
    const wanted = IFF_TUN | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE;
    expect(LinuxTun.features() & wanted).toBe(wanted);
  });

  it('negotiates checksum and segmentation offloads, USO where the kernel has it', () => {
    const names = offloadFlagNames(tun.offloads ?? 0);
    console.log(`TUN offloads accepted: ${names.join(', ')}`);
    expect(names).toEqual(expect.arrayContaining(['csum', 'tso4', 'tso6']));
    expect(tun.vnetHdrLen).toBe(VNET);
    expect(tun.name).toBe('egwt0');
  });

  it('writes an ICMP echo request in and reads the kernel reply with its virtio header', () => {
    const payload = new TextEncoder().encode('egressgw-ping');
    const request = icmpEchoRequest(REMOTE, LOCAL, 0x4567, 1, payload, VNET);
    bytes.set(request, offsets[0]!);
    expect(tun.writeBatch(memory, offsets, Uint32Array.of(request.byteLength), 1)).toBe(1);
    let reply: { header: VnetHeader; ip: Uint8Array } | null = null;
    const found = readUntil((offset, len) => {
      const ip = bytes.slice(offset + VNET, offset + len);
      if (ip[9] !== 1 || ip[20] !== 0) return false;
      reply = { header: decodeVnetHeader(bytes, offset), ip };
      return true;
    });
    expect(found).toBe(true);
    const { header, ip } = reply!;
    expect(header.gsoType).toBe(VIRTIO_NET_HDR_GSO_NONE);
    expect(bytesToIpv4(ip, 12)).toBe(LOCAL);
    expect(bytesToIpv4(ip, 16)).toBe(REMOTE);
    expect((ip[24]! << 8) | ip[25]!).toBe(0x4567);
    expect(new TextDecoder().decode(ip.subarray(28))).toBe('egressgw-ping');
  });

  it('carries UDP out and back in, with the checksum left to the device', () => {
    const { sender, receiver } = withNetworkNamespace(ns, () => ({
      sender: new TestUdpSocket(LOCAL, 4000),
      receiver: new TestUdpSocket(LOCAL, 5000),
    }));
    try {
      expect(sender.sendTo(REMOTE, 5000, new TextEncoder().encode('hello udp'))).toBe(9);
      let header: VnetHeader | null = null;
      const found = readUntil((offset, len) => {
        if (bytes[offset + VNET + 9] !== 17) return false;
        header = decodeVnetHeader(bytes, offset);
        reflectIpv4(bytes, offset + VNET);
        return tun.writeBatch(memory, Uint32Array.of(offset), Uint32Array.of(len), 1) === 1;
      });
      expect(found).toBe(true);
      // CSUM offload on: the kernel leaves the UDP checksum to "the device" (us, or
      // whoever receives the packet we write back): csum_start at the UDP header,
      // csum_offset at its checksum field.
      expect(needsChecksum(header!)).toBe(true);
      expect(header!.csumStart).toBe(20);
      expect(header!.csumOffset).toBe(6);
      let got: ReturnType<TestUdpSocket['receive']> = null;
      for (let i = 0; i < 100 && got === null; i++) {
        got = receiver.receive();
        if (got === null) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
      }
      expect(got).not.toBeNull();
      expect(new TextDecoder().decode(got!.payload)).toBe('hello udp');
      expect(got!.from).toBe(REMOTE);
      expect(got!.port).toBe(4000);
    } finally {
      sender.close();
      receiver.close();
    }
  });

  it('reads 64 KiB TCP super-packets with GSO headers during a bulk transfer', async () => {
    const port = '5301';
    const server = spawnIn(ns, ['iperf3', '-s', '-1', '-B', LOCAL, '-p', port]);
    const headers: { header: VnetHeader; len: number }[] = [];
    let client: ChildProcess | null = null;
    try {
      await sleep(300);
      client = spawnIn(ns, ['iperf3', '-c', REMOTE, '-p', port, '-n', '16M', '-J']);
      // Reflect everything for a bounded time; the transfer itself takes well under it.
      const deadline = Date.now() + 2500;
      while (Date.now() < deadline) {
        if (!tun.waitReadable(20)) {
          if (isZombie(client.pid)) break;
          continue;
        }
        const n = tun.readBatch(memory, offsets, STRIDE, lens, SLOTS);
        for (let i = 0; i < n; i++) {
          const offset = offsets[i]!;
          headers.push({ header: decodeVnetHeader(bytes, offset), len: lens[i]! });
          reflectIpv4(bytes, offset + VNET);
        }
        tun.writeBatch(memory, offsets, lens, n);
      }
      const result = await exited(client);
      expect(result.code).toBe(0);
      const report = JSON.parse(result.stdout) as {
        end: { sum_sent: { bytes: number }; sum_received: { bytes: number } };
      };
      // The sender's count is exact with -n; the receiver's report is taken when the
      // test ends and can miss what is still in flight.
      // iperf3 -n rounds up to whole send buffers: at least the amount asked for.
      expect(report.end.sum_sent.bytes).toBeGreaterThanOrEqual(16 * 1024 * 1024);
      expect(report.end.sum_received.bytes).toBeGreaterThan(8 * 1024 * 1024);
    } finally {
      client?.kill();
      server.kill();
    }
    const gso = headers.filter((h) => h.header.gsoType === VIRTIO_NET_HDR_GSO_TCPV4);
    const largest = Math.max(...headers.map((h) => h.len));
    console.log(
      `TCP bulk: ${headers.length} packets read, ${gso.length} TCPv4 GSO, largest ${largest} B`,
    );
    expect(gso.length).toBeGreaterThan(0);
    const sample = gso.find((h) => h.len > 1500 + VNET);
    expect(sample).toBeDefined();
    expect(needsChecksum(sample!.header)).toBe(true);
    expect(sample!.header.gsoSize).toBeGreaterThan(500);
    expect(sample!.header.gsoSize).toBeLessThan(1500);
    expect(sample!.header.csumStart).toBe(20);
    expect(sample!.header.csumOffset).toBe(16);
    expect(gsoTypeName(sample!.header.gsoType)).toBe('tcpv4');
  });

  it('refuses ranges outside the memory before any system call', () => {
    const calls = tun.stats.readCalls;
    expect(() =>
      tun.readBatch(memory, Uint32Array.of(memory.buffer.byteLength - 100), STRIDE, lens, 1),
    ).toThrow(NativeArgumentError);
    expect(tun.stats.readCalls).toBe(calls);
    const plain = new WebAssembly.Memory({ initial: 1, maximum: 1 });
    expect(() => tun.writeBatch(plain, Uint32Array.of(0), Uint32Array.of(20), 1)).toThrow(
      /shared WebAssembly.Memory/,
    );
  });

  it('counts writes refused while the device is down and goes on', () => {
    namespaces.ip(ns, 'link', 'set', 'egwt0', 'down');
    try {
      const request = icmpEchoRequest(REMOTE, LOCAL, 1, 1, new Uint8Array(8), VNET);
      bytes.set(request, offsets[0]!);
      const errors = tun.stats.writeErrors;
      expect(tun.writeBatch(memory, offsets, Uint32Array.of(request.byteLength), 1)).toBe(0);
      expect(tun.stats.writeErrors).toBe(errors + 1);
      expect(tun.stats.lastWriteError).toBe('EIO');
      expect(tun.readBatch(memory, offsets, STRIDE, lens, SLOTS)).toBe(0);
    } finally {
      namespaces.ip(ns, 'link', 'set', 'egwt0', 'up');
    }
  });

  it('opens several queues of one multi-queue device', () => {
    const queues = withNetworkNamespace(ns, () => [
      LinuxTun.open({ name: 'egwmq0', multiQueue: true }),
      LinuxTun.open({ name: 'egwmq0', multiQueue: true }),
    ]);
    try {
      expect(queues[0]!.fd).not.toBe(queues[1]!.fd);
      const links = namespaces.ipJson<{ ifname: string }[]>(ns, 'link', 'show', 'egwmq0');
      expect(links.map((l) => l.ifname)).toEqual(['egwmq0']);
    } finally {
      for (const q of queues) q.close();
    }
  });

  it('adopts a descriptor opened elsewhere and reads its virtio header size back', () => {
    const adopted = LinuxTun.fromFd(tun.fd, tun.name);
    expect(adopted.vnetHdrLen).toBe(VNET);
    expect(adopted.offloads).toBeNull();
  });

  it('reports a deleted device with the sentinel error', () => {
    const doomed = withNetworkNamespace(ns, () => LinuxTun.open({ name: 'egwgone0' }));
    try {
      namespaces.ip(ns, 'link', 'del', 'egwgone0');
      expect(doomed.waitReadable(100)).toBe(true); // POLLERR
      expect(() => doomed.readBatch(memory, offsets, STRIDE, lens, 1)).toThrow(TunGoneError);
      expect(() => doomed.writeBatch(memory, offsets, Uint32Array.of(28), 1)).toThrow(
        expect.objectContaining({ code: 'EGW_TUN_GONE' }),
      );
    } finally {
      doomed.close();
    }
  });

  it('refuses a bad name or header size without opening anything', () => {
    expect(() => LinuxTun.open({ name: 'x'.repeat(16) })).toThrow(NativeArgumentError);
    expect(() => LinuxTun.open({ name: 'egwt9', vnetHdrLen: 11 as 10 })).toThrow(
      NativeArgumentError,
    );
  });
});

/** The event loop is blocked while a test reflects packets, so exits are seen in /proc. */
function isZombie(pid: number | undefined): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] === 'Z';
  } catch {
    return true;
  }
}

function spawnIn(ns: string, argv: string[]): ChildProcess {
  return spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
}

function exited(child: ChildProcess): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    child.stdout?.on('data', (chunk) => {
      stdout += chunk;
    });
    const timer = setTimeout(() => reject(new Error('child did not exit')), 10_000);
    const done = (code: number | null) => {
      clearTimeout(timer);
      resolve({ code, stdout });
    };
    child.once('close', done);
  });
}
