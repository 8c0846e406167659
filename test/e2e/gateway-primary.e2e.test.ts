import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  OUTSIDE,
  runTrafficProbe,
  startAgent,
  steerWorker,
  workDir,
  writeConfig,
} from '../../lab/egressgw-agents.ts';
import { buildLab, type Lab, type LabProcess } from '../../lab/index.ts';

// One gateway in PrimaryIPFromEgressGatewayNodeInterface mode: pods leave with the
// node's own uplink address on the reserved NAT ports, and the node's own traffic on
// that address keeps working beside them.

const NODE_IP = '172.18.18.11';

describe('one gateway, PrimaryIPFromEgressGatewayNodeInterface mode', () => {
  let lab: Lab;
  let agent: LabProcess;
  const dir = workDir();

  beforeAll(async () => {
    lab = await buildLab({ gateways: 1, workers: 1, podsPerWorker: 2 });
    writeConfig(`${dir.path}/config.yaml`, {
      gateways: [
        {
          name: 'egress-gw',
          mode: 'primary',
          nodeSelector: { 'node-role.deckhouse.io/egress': '' },
        },
      ],
      policies: [
        { name: 'backend', gateway: 'egress-gw', app: 'backend', destinations: ['203.0.113.0/24'] },
      ],
      nodes: [
        { name: 'gw1', address: '192.168.77.11', labels: { 'node-role.deckhouse.io/egress': '' } },
      ],
      pods: [{ name: 'backend-1', ip: '10.244.1.11', node: 'worker1', app: 'backend' }],
    });
    agent = await startAgent(lab, 'gw1', `${dir.path}/config.yaml`, dir.path);
    await steerWorker(lab, 'worker1', '192.168.77.11');
  }, 60_000);

  afterAll(async () => {
    await agent?.kill('SIGTERM');
    await lab?.teardown();
    dir.dispose();
  });

  it('gives a selected pod the node address on a NAT port, for TCP and UDP', async () => {
    await expect
      .poll(() => lab.askSource('worker1-pod1', 'tcp').catch(() => null), { timeout: 5000 })
      .toMatchObject({ ip: NODE_IP });
    const tcp = await lab.askSource('worker1-pod1', 'tcp');
    const udp = await lab.askSource('worker1-pod1', 'udp');
    for (const seen of [tcp, udp]) {
      expect(seen.ip).toBe(NODE_IP);
      expect(seen.port).toBeGreaterThanOrEqual(61000);
    }
  });

  it('gives a selected pod the node address for ICMP echo', async () => {
    await lab.outsideIcmpSources({ clear: true });
    expect((await lab.ping('worker1-pod1', OUTSIDE, { count: 3 })).received).toBe(3);
    expect(await lab.outsideIcmpSources()).toEqual([NODE_IP]);
  });

  it('leaves the node its own connections, pings and local ports', async () => {
    expect((await lab.askSource('gw1', 'tcp')).ip).toBe(NODE_IP);
    expect((await lab.askSource('gw1', 'udp')).ip).toBe(NODE_IP);
    expect((await lab.ping('gw1', OUTSIDE, { count: 2 })).received).toBe(2);
    const reserved = await lab.run('gw1', ['cat', '/proc/sys/net/ipv4/ip_local_reserved_ports']);
    expect(reserved.stdout.trim()).toBe('61000-65535');
  });

  it('carries hundreds of concurrent connections on the reserved ports', async () => {
    const result = (await runTrafficProbe(lab, 'worker1-pod1', [
      'concurrent-tcp',
      OUTSIDE,
      '7777',
      '200',
    ])) as {
      ok: number;
      distinct: number;
      sources: string[];
    };
    expect(result.ok).toBe(200);
    expect(result.distinct).toBe(200);
    for (const source of result.sources) {
      const [ip, port] = source.split(':');
      expect(ip).toBe(NODE_IP);
      expect(Number(port)).toBeGreaterThanOrEqual(61000);
    }
  });

  it('gives every kernel setting back when the agent stops', async () => {
    await agent.kill('SIGTERM');
    const reserved = await lab.run('gw1', ['cat', '/proc/sys/net/ipv4/ip_local_reserved_ports']);
    expect(reserved.stdout.trim()).toBe('');
    const rules = await lab.run('gw1', ['ip', 'rule']);
    expect(rules.stdout).not.toMatch(/proto 158|lookup 7777/);
    expect(rules.stdout).toMatch(/^0:\s+from all lookup local/m);
    const tables = await lab.run('gw1', ['nft', 'list', 'tables']);
    expect(tables.stdout).not.toMatch(/egressgw/);
  });
});
