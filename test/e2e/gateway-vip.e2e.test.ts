import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  OUTSIDE,
  runTrafficProbe,
  spawnTrafficProbe,
  startAgent,
  steerWorker,
  VIP,
  workDir,
  writeConfig,
} from '../../lab/egressgw-agents.ts';
import { buildLab, type Lab, type LabProcess } from '../../lab/index.ts';

// One gateway in VirtualIPAddress mode, a real agent in the gateway's namespace: what
// the outside server sees from a selected pod and from an unselected one.

describe('one gateway, VirtualIPAddress mode', () => {
  let lab: Lab;
  let agent: LabProcess;
  const dir = workDir();

  beforeAll(async () => {
    lab = await buildLab({ gateways: 1, workers: 1, podsPerWorker: 2, outsideMtu: 1400 });
    writeConfig(`${dir.path}/config.yaml`, {
      gateways: [
        { name: 'egress-gw', mode: 'vip', nodeSelector: { 'node-role.deckhouse.io/egress': '' } },
      ],
      policies: [
        { name: 'backend', gateway: 'egress-gw', app: 'backend', destinations: ['0.0.0.0/0'] },
      ],
      nodes: [
        { name: 'gw1', address: '192.168.77.11', labels: { 'node-role.deckhouse.io/egress': '' } },
      ],
      pods: [
        { name: 'backend-1', ip: '10.244.1.11', node: 'worker1', app: 'backend' },
        { name: 'other-1', ip: '10.244.1.12', node: 'worker1', app: 'other' },
      ],
    });
    agent = await startAgent(lab, 'gw1', `${dir.path}/config.yaml`, dir.path);
    await steerWorker(lab, 'worker1', '192.168.77.11');
  }, 60_000);

  afterAll(async () => {
    await agent?.kill('SIGTERM');
    await lab?.teardown();
    dir.dispose();
  });

  it('gives a selected pod the VIP for TCP and UDP', async () => {
    await expect
      .poll(
        () =>
          lab
            .askSource('worker1-pod1', 'tcp')
            .then((s) => s.ip)
            .catch(() => null),
        { timeout: 5000 },
      )
      .toBe(VIP);
    expect((await lab.askSource('worker1-pod1', 'udp')).ip).toBe(VIP);
  });

  it('gives a selected pod the VIP for ICMP echo', async () => {
    await lab.outsideIcmpSources({ clear: true });
    const result = await lab.ping('worker1-pod1', OUTSIDE, { count: 3 });
    expect(result.received).toBe(3);
    expect(await lab.outsideIcmpSources()).toEqual([VIP]);
  });

  it('leaves a pod no policy selects untranslated', async () => {
    const probe = await lab.probeSource('worker1-pod2', 'udp', { timeoutMs: 300 });
    expect(probe[0]?.ok).toBe(false);
    expect(lab.outsideServer?.seen.some((event) => event.source.ip === '10.244.1.12')).toBe(true);
  });

  it('keeps a TCP transfer going across a smaller path MTU (fragmentation-needed reaches the pod)', async () => {
    const result = await lab.iperfTcp('worker1-pod1', { seconds: 1 });
    expect(result.receivedBitsPerSecond).toBeGreaterThan(0);
    const ping = await lab.ping('worker1-pod1', OUTSIDE, {
      count: 1,
      payloadBytes: 1450,
      dontFragment: true,
    });
    expect(ping.received).toBe(0);
    expect(ping.fragmentationNeededMtu).toBe(1400);
  });

  it('carries hundreds of concurrent connections, each on its own port of the VIP', async () => {
    const result = (await runTrafficProbe(lab, 'worker1-pod1', [
      'concurrent-tcp',
      OUTSIDE,
      '7777',
      '300',
    ])) as {
      ok: number;
      distinct: number;
      sources: string[];
    };
    expect(result.ok).toBe(300);
    expect(result.distinct).toBe(300);
    expect(result.sources.every((source) => source.startsWith(`${VIP}:`))).toBe(true);
  });

  it('translates a UDP datagram that leaves the pod in fragments', async () => {
    const result = (await runTrafficProbe(lab, 'worker1-pod1', [
      'large-udp',
      OUTSIDE,
      '7777',
      '4000',
    ])) as {
      ok: boolean;
      source?: string;
    };
    expect(result.ok).toBe(true);
    expect(result.source?.startsWith(`${VIP}:`)).toBe(true);
  });

  it('drops datagrams to the VIP that answer no flow', async () => {
    const listener = spawnTrafficProbe(lab, 'worker1-pod1', ['listen-udp', '40999', '1500']);
    await listener.waitForLine(/listening/);
    await lab.run('outside', [
      process.execPath,
      '-e',
      `const s=require('node:dgram').createSocket('udp4');s.send('x',40999,'${VIP}',()=>s.close())`,
    ]);
    await listener.exited;
    expect(JSON.parse(listener.output().trim().split('\n').at(-1)!)).toEqual({ received: [] });
  });

  it('exits with an error, giving routing back, when its TUN is deleted under it', async () => {
    await lab.run('gw1', ['ip', 'link', 'del', 'egw0']);
    const exit = await Promise.race([
      agent.exited,
      new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 5000)),
    ]);
    expect(exit).toEqual({ code: 1, signal: null });
    const rules = await lab.run('gw1', ['ip', 'rule']);
    expect(rules.stdout).not.toMatch(/lookup 7777/);
  });
});
