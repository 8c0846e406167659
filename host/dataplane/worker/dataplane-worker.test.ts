import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Core } from '../core.ts';
import { coreWasmPath } from '../core-module.ts';
import { pollIn } from '../native/ffi.ts';
import { withNetworkNamespace } from '../native/netns.ts';
import { isRoot, TestNamespaces } from '../native/test-namespaces.ts';
import { TestUdpSocket } from '../native/test-sockets.ts';
import { LinuxTun } from '../tun/linux-tun.ts';
import { DataplaneWorker } from './dataplane-worker.ts';
import { reflectorEntry, reflectorSetup } from './test-reflector.ts';

// Same addressing as tun/linux-tun.test.ts: the namespace routes 10.78.0.0/24 into the
// TUN; the worker (with the reflecting fake core) sends it back as traffic from 10.78.0.x.
const LOCAL = '10.77.0.1';
const REMOTE = '10.78.0.5';
const VNET = 10;

/** Resolves once the loop has polled (a worker takes ~100-200 ms to load). */
async function started(worker: DataplaneWorker): Promise<void> {
  const deadline = Date.now() + 5000;
  while (worker.counters().poll_calls === 0 && Date.now() < deadline) await sleep(5);
}

let coreBuilt = false;
try {
  coreWasmPath();
  coreBuilt = true;
} catch {
  coreBuilt = false;
}

describe.skipIf(!isRoot)('dataplane worker thread on a TUN in a namespace', () => {
  const namespaces = new TestNamespaces('wrk');
  let ns = '';

  beforeAll(() => {
    try {
      ns = namespaces.add('a');
    } catch (err) {
      namespaces.removeAll();
      throw err;
    }
  });

  afterAll(() => namespaces.removeAll());

  function openTun(name: string): LinuxTun {
    const tun = withNetworkNamespace(ns, () => LinuxTun.open({ name, vnetHdrLen: VNET }));
    namespaces.ip(ns, 'link', 'set', name, 'up');
    namespaces.ip(ns, 'addr', 'add', `${LOCAL}/24`, 'dev', name);
    namespaces.ip(ns, 'route', 'add', '10.78.0.0/24', 'dev', name);
    return tun;
  }

  it('echoes UDP through the worker, counts its work, and stops within 100 ms', async () => {
    const tun = openTun('egww0');
    const { layout, memory, module } = reflectorSetup(64, VNET);
    const worker = new DataplaneWorker(
      { memory, module, layout, tun: { fd: tun.fd, name: tun.name } },
      { entry: reflectorEntry },
    );
    const { sender, receiver } = withNetworkNamespace(ns, () => ({
      sender: new TestUdpSocket(LOCAL, 4000),
      receiver: new TestUdpSocket(LOCAL, 5000),
    }));
    try {
      const datagrams = 200;
      for (let i = 0; i < datagrams; i++) {
        expect(sender.sendTo(REMOTE, 5000, Uint8Array.of(i, 0xee))).toBe(2);
      }
      const seen = new Set<number>();
      const deadline = Date.now() + 5000;
      while (seen.size < datagrams && Date.now() < deadline) {
        const got = receiver.receive();
        if (got === null) {
          if (pollIn(receiver.fd, 0) === 0) await sleep(5);
          continue;
        }
        expect(got.from).toBe(REMOTE);
        seen.add(got.payload[0]!);
      }
      expect(seen.size).toBe(datagrams);
      const counters = worker.counters();
      expect(counters.packets_read).toBeGreaterThanOrEqual(datagrams);
      expect(counters.packets_forwarded).toBe(counters.packets_read);
      expect(counters.packets_written).toBe(counters.packets_forwarded);
      expect(counters.batches).toBeGreaterThan(0);
      expect(counters.batches).toBeLessThanOrEqual(counters.packets_read);
      expect(counters.write_errors).toBe(0);

      const asked = performance.now();
      expect(await worker.stop()).toBe('stopped');
      const tookMs = performance.now() - asked;
      console.log(`worker stop took ${tookMs.toFixed(1)} ms`);
      expect(tookMs).toBeLessThan(100);
    } finally {
      sender.close();
      receiver.close();
      await worker.stop().catch(() => {});
      tun.close(); // the last descriptor of a non-persistent TUN: the device goes too
    }
  });

  it('ends with device_gone when the TUN is deleted under it', async () => {
    const tun = openTun('egww1');
    const { layout, memory, module } = reflectorSetup(8, VNET);
    const worker = new DataplaneWorker(
      { memory, module, layout, tun: { fd: tun.fd, name: tun.name } },
      { entry: reflectorEntry },
    );
    try {
      await started(worker);
      namespaces.ip(ns, 'link', 'del', 'egww1');
      expect(await worker.ended).toBe('device_gone');
    } finally {
      await worker.stop().catch(() => {});
      tun.close();
    }
  });

  it('stops on an aborted signal', async () => {
    const tun = openTun('egww2');
    const { layout, memory, module } = reflectorSetup(8, VNET);
    const abort = new AbortController();
    const worker = new DataplaneWorker(
      { memory, module, layout, tun: { fd: tun.fd, name: tun.name } },
      { entry: reflectorEntry, signal: abort.signal },
    );
    try {
      await started(worker);
      abort.abort();
      expect(await worker.ended).toBe('stopped');
    } finally {
      tun.close(); // the last descriptor of a non-persistent TUN: the device goes too
    }
  });

  it('reports a worker that cannot start as a failure with a code', async () => {
    const tun = openTun('egww4');
    const { layout, memory, module } = reflectorSetup(8, VNET);
    const worker = new DataplaneWorker(
      // Slots too small for a 64 KiB packet: the loop refuses to start.
      {
        memory,
        module,
        layout: { ...layout, slotStride: 2048 },
        tun: { fd: tun.fd, name: tun.name },
      },
      { entry: reflectorEntry },
    );
    try {
      await expect(worker.ended).rejects.toMatchObject({
        code: 'EGW_WORKER_FAILED',
        cause: expect.objectContaining({ code: 'EGW_WORKER_LAYOUT' }),
      });
    } finally {
      tun.close();
    }
  });

  it('ends at once with device_gone when handed a closed descriptor', async () => {
    const { layout, memory, module } = reflectorSetup(8, VNET);
    const worker = new DataplaneWorker(
      { memory, module, layout, tun: { fd: 999_999, name: 'nosuch' } },
      { entry: reflectorEntry },
    );
    expect(await worker.ended).toBe('device_gone');
  });

  it.skipIf(!coreBuilt)('runs the compiled core against the shared memory', async () => {
    const tun = openTun('egww3');
    const core = await Core.create({ vnetHdrLen: VNET, batchSlots: 16 });
    const worker = new DataplaneWorker({
      memory: core.memory,
      module: core.module,
      tun: { fd: tun.fd, name: tun.name },
    });
    const sender = withNetworkNamespace(ns, () => new TestUdpSocket(LOCAL, 4000));
    try {
      const before = core.counters()['drop_no_policy'] ?? 0n;
      sender.sendTo(REMOTE, 5000, Uint8Array.of(1, 2, 3));
      const deadline = Date.now() + 3000;
      while (worker.counters().packets_read < 1 && Date.now() < deadline) await sleep(10);
      // No policy is loaded: the core reads the packet and drops it as no_policy; the
      // worker writes nothing. Both sets of counters are visible from this thread.
      expect(worker.counters().packets_read).toBe(1);
      expect(worker.counters().packets_not_forwarded).toBe(1);
      expect(worker.counters().packets_written).toBe(0);
      expect((core.counters()['drop_no_policy'] ?? 0n) - before).toBe(1n);
      expect(await worker.stop()).toBe('stopped');
    } finally {
      sender.close();
      await worker.stop().catch(() => {});
      tun.close(); // the last descriptor of a non-persistent TUN: the device goes too
    }
  });
});
