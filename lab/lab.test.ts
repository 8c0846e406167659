// End-to-end checks of the namespace lab itself (needs root): the kernel baseline carries
// pod traffic to the outside server with the gateway's address, and the helpers that the
// e2e tests and the benchmark rely on report real measurements.

import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLab } from './build.ts';
import { LabError } from './errors.ts';
import { run } from './exec.ts';
import { assertIsolated } from './isolation.ts';
import type { Lab } from './lab.ts';
import { labAddresses } from './topology.ts';

const isRoot = process.getuid?.() === 0;
const OUTSIDE_MTU = 1400;

describe.skipIf(!isRoot)('namespace lab (root)', () => {
  let lab: Lab;
  let buildMs = 0;

  beforeAll(async () => {
    const started = performance.now();
    lab = await buildLab({
      gateways: 3,
      workers: 2,
      podsPerWorker: 2,
      podsPerGateway: 1,
      workerBehindRouter: true,
      controlPlane: true,
      outsideMtu: OUTSIDE_MTU,
    });
    buildMs = performance.now() - started;
  });

  afterAll(async () => {
    await lab?.teardown();
  });

  it('builds a 3-gateway cluster in a few seconds', () => {
    // ~0.9 s measured on 2 busy cores; the bound leaves room for a loaded CI machine.
    expect(buildMs).toBeLessThan(8_000);
    expect(lab.namespaces).toHaveLength(1 + 3 + 2 + 4 + 3 + 1 + 1 + 1 + 1);
    for (const netns of lab.namespaces) expect(netns.startsWith(`${lab.prefix}-`)).toBe(true);
  });

  it('has no link into the root namespace or any other foreign namespace', async () => {
    await assertIsolated(lab.namespaces);
    // And from the root namespace's side: no veth there has its peer in the lab.
    const root = await run(['ip', '-j', '-batch', '-'], {
      input: 'link show type veth\nnetns list-id\n',
    });
    const [links, nsids] = root.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { link_netnsid?: number; nsid?: number; name?: string }[]);
    const labIds = new Set(
      (nsids ?? []).filter((entry) => lab.namespaces.includes(entry.name ?? '')).map((e) => e.nsid),
    );
    expect((links ?? []).filter((link) => labIds.has(link.link_netnsid))).toEqual([]);
  });

  it('gives pods no way out until something steers them to a gateway', async () => {
    // A gateway's pod leaves through its node's default route, but nothing routes the
    // answer back to 10.244.0.0/16 from the uplink side.
    const reports = await Promise.all(
      ['worker1-pod1', 'gw1-pod1'].map((pod) => lab.probeSource(pod, 'tcp', { timeoutMs: 300 })),
    );
    expect(reports.map(([report]) => report?.ok)).toEqual([false, false]);
  });

  it('routes pods on gateway nodes like pods on workers, from both subnets', async () => {
    const pairs = [
      ['worker1-pod1', '10.244.12.11'], // gw2-pod1, same segment
      ['worker2-pod1', '10.244.13.11'], // gw3-pod1, through the node router
      ['gw1-pod1', '10.244.2.12'], // worker2-pod2, the other way round
      ['gw2-pod1', '10.244.13.11'], // gateway pod to gateway pod
    ] as const;
    const results = await Promise.all(pairs.map(([from, to]) => lab.ping(from, to, { count: 1 })));
    expect(results.map((result) => result.received)).toEqual([1, 1, 1, 1]);
  });

  it('carries TCP and UDP through the masquerading gateway, from both subnets', async () => {
    const plan = await lab.enableKernelBaseline({ gateway: 'gw2' });
    expect(plan.sourceIp).toBe('172.18.18.12');
    const before = { ...lab.outsideServer!.counts };
    for (const pod of ['worker1-pod1', 'worker2-pod2']) {
      expect((await lab.askSource(pod, 'tcp')).ip).toBe('172.18.18.12');
      expect((await lab.askSource(pod, 'udp')).ip).toBe('172.18.18.12');
    }
    expect(lab.outsideServer!.counts.tcp).toBe(before.tcp + 2);
    expect(lab.outsideServer!.counts.udp).toBe(before.udp + 2);
    expect(lab.outsideServer!.seen.at(-1)?.source.ip).toBe('172.18.18.12');
  });

  it('answers ping from a pod with a sane RTT', async () => {
    const result = await lab.ping('worker1-pod2', labAddresses.outsideIp, { count: 5 });
    expect(result.transmitted).toBe(5);
    expect(result.received).toBe(5);
    expect(result.rttsMs).toHaveLength(5);
    expect(result.medianMs!).toBeGreaterThan(0);
    expect(result.medianMs!).toBeLessThan(20);
  });

  it('runs iperf3 TCP and UDP through the gateway', async () => {
    const tcp = await lab.iperfTcp('worker1-pod1', { seconds: 1 });
    expect(tcp.seconds).toBeGreaterThan(0.5);
    expect(tcp.receivedBitsPerSecond).toBeGreaterThan(0);
    const udp = await lab.iperfUdp('worker1-pod1', { seconds: 1, lengthBytes: 64 });
    expect(udp.sentPackets).toBeGreaterThan(0);
    expect(udp.receivedPacketsPerSecond).toBeGreaterThan(0);
    expect(udp.lostPackets).toBeLessThanOrEqual(udp.sentPackets);
  });

  it('enforces the path MTU of the router-outside link', async () => {
    // 1400 - 20 (IPv4) - 8 (ICMP) = 1372 bytes of payload fit exactly.
    const fits = await lab.ping('worker1-pod1', labAddresses.outsideIp, {
      count: 1,
      payloadBytes: OUTSIDE_MTU - 28,
      dontFragment: true,
    });
    expect(fits.received).toBe(1);
    const tooBig = await lab.ping('worker2-pod1', labAddresses.outsideIp, {
      count: 1,
      payloadBytes: OUTSIDE_MTU - 27,
      dontFragment: true,
    });
    expect(tooBig.received).toBe(0);
    expect(tooBig.fragmentationNeededMtu).toBe(OUTSIDE_MTU);
    expect(tooBig.errors.join('\n')).toMatch(/Frag needed/);
  });

  it('switches the kernel baseline to SNAT to the VIP on another gateway', async () => {
    const plan = await lab.enableKernelBaseline({ gateway: 'gw1', snat: { mode: 'vip' } });
    expect(plan.sourceIp).toBe(labAddresses.vip);
    expect((await lab.askSource('worker2-pod1', 'tcp')).ip).toBe(labAddresses.vip);
    expect((await lab.askSource('worker1-pod1', 'udp')).ip).toBe(labAddresses.vip);
    await lab.outsideIcmpSources({ clear: true });
    expect((await lab.ping('worker1-pod2', labAddresses.outsideIp, { count: 2 })).received).toBe(2);
    expect(await lab.outsideIcmpSources()).toEqual([labAddresses.vip]);
    // The previous gateway no longer NATs.
    const gw2 = await lab.run('gw2', ['nft', 'list', 'tables']);
    expect(gw2.stdout).not.toMatch(/egwlab_baseline/);
  });

  it("cuts and restores a gateway's uplink", async () => {
    await lab.setNodeLink('gw1', 'uplink', 'down');
    const [cut] = await lab.probeSource('worker1-pod1', 'udp', { timeoutMs: 300 });
    expect(cut?.ok).toBe(false);
    await lab.setNodeLink('gw1', 'uplink', 'up');
    expect((await lab.askSource('worker1-pod1', 'udp', 2_000)).ip).toBe(labAddresses.vip);
  });

  it('reads checksum error counters of a namespace', async () => {
    const counters = await lab.kernelCounters('outside');
    expect(counters['TcpInCsumErrors']).toBe(0);
    expect(counters['UdpInCsumErrors']).toBe(0);
    expect(counters['TcpPassiveOpens']).toBeGreaterThan(0);
  });

  it('switches transmit checksum offload of a namespace off and on', async () => {
    const state = async () => (await lab.run('outside', ['ethtool', '-k', 'eth0'])).stdout;
    await lab.setTxChecksumOffload('outside', false);
    expect(await state()).toMatch(/^tx-checksumming: off/m);
    await lab.setTxChecksumOffload('outside', true, ['eth0']);
    expect(await state()).toMatch(/^tx-checksumming: on/m);
  });

  it('bridges a Unix socket of the test process to the control-plane address', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'egwlab-'));
    const socketPath = join(directory, 'api.sock');
    const server = createServer((socket) => socket.end('hello from the test process\n'));
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    try {
      await lab.bridgeToUnixSocket(socketPath, 6443);
      const fetchFrom = (node: string) =>
        lab.run(
          node,
          ['timeout', '1', 'bash', '-c', 'exec 3<>/dev/tcp/192.168.77.2/6443 && cat <&3'],
          { allowFailure: true },
        );
      // gw1 on the same subnet, worker2 through the node router.
      expect((await fetchFrom('gw1')).stdout).toBe('hello from the test process\n');
      expect((await fetchFrom('worker2')).stdout).toBe('hello from the test process\n');
      await lab.setNodeLink('gw1', 'node', 'down');
      try {
        expect((await fetchFrom('gw1')).exitCode).not.toBe(0);
      } finally {
        await lab.setNodeLink('gw1', 'node', 'up');
      }
    } finally {
      server.close();
      await rm(directory, { recursive: true, force: true });
    }
  });

  it("SIGKILLs a node's processes", async () => {
    const sleeper = lab.spawn('gw3', ['sleep', '30']);
    const killed = await lab.killNodeProcesses('gw3');
    expect(killed).toBeGreaterThanOrEqual(1);
    expect((await sleeper.exited).signal).toBe('SIGKILL');
  });

  it('removes the baseline and refuses unknown names', async () => {
    await lab.disableKernelBaseline();
    const [report] = await lab.probeSource('worker1-pod1', 'tcp', { timeoutMs: 300 });
    expect(report?.ok).toBe(false);
    expect(() => lab.netns('gw9')).toThrow(LabError);
    await expect(lab.setNodeLink('worker1', 'uplink', 'down')).rejects.toMatchObject({
      code: 'EGW_LAB_UNKNOWN_NAME',
    });
  });
});

describe.skipIf(!isRoot)('namespace lab without transmit checksum offload (root)', () => {
  it('turns tx checksum offload off on every veth and still carries traffic', async () => {
    const lab = await buildLab({
      gateways: 1,
      podsPerWorker: 1,
      txChecksumOffload: false,
    });
    try {
      const ends = [
        ['worker1-pod1', 'eth0'],
        ['worker1', 'pod1'],
        ['gw1', 'eth1'],
        ['fabric', 'gw1-eth0'],
        ['outside', 'eth0'],
      ] as const;
      for (const [where, device] of ends) {
        const features = await lab.run(where, ['ethtool', '-k', device]);
        expect(features.stdout, `${where} ${device}`).toMatch(/^tx-checksumming: off/m);
      }
      await lab.enableKernelBaseline({ gateway: 'gw1' });
      expect((await lab.askSource('worker1-pod1', 'tcp')).ip).toBe('172.18.18.11');
      const counters = await lab.kernelCounters('outside');
      expect(counters['TcpInCsumErrors']).toBe(0);
    } finally {
      await lab.teardown();
    }
  });
});
