import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  activeNode,
  type LabConfig,
  measureFailover,
  startAgent,
  steerWorker,
  takeovers,
  VIP,
  waitForSource,
  workDir,
  writeConfig,
} from '../../lab/egressgw-agents.ts';
import { buildLab, type Lab, type LabProcess } from '../../lab/index.ts';

// Three gateway nodes in VirtualIPAddress mode with real agents heartbeating each other
// (file mode, no Lease). The worker routes selected traffic with the VIP as next hop on
// the shared node network, so it follows the active node by gratuitous ARP alone.

const VIP2 = '172.18.18.243';
const GATEWAYS = ['gw1', 'gw2', 'gw3'];
const LABEL = { 'node-role.deckhouse.io/egress': '' };

function config(cordoned: string | null = null): LabConfig {
  return {
    gateways: [
      { name: 'egress-gw', mode: 'vip', nodeSelector: LABEL, vip: VIP },
      { name: 'egress-gw-2', mode: 'vip', nodeSelector: LABEL, vip: VIP2 },
    ],
    policies: [
      { name: 'backend', gateway: 'egress-gw', app: 'backend', destinations: ['203.0.113.0/24'] },
    ],
    nodes: GATEWAYS.map((name, i) => ({
      name,
      address: `192.168.77.${11 + i}`,
      labels: LABEL,
      unschedulable: name === cordoned,
    })),
    pods: [{ name: 'backend-1', ip: '10.244.1.11', node: 'worker1', app: 'backend' }],
  };
}

describe('failover between three gateways, VirtualIPAddress mode', () => {
  let lab: Lab;
  const agents = new Map<string, LabProcess>();
  const dir = workDir();
  const configPath = `${dir.path}/config.yaml`;

  const start = async (node: string): Promise<void> => {
    // A long startup grace: the three agents start together but load at different
    // speeds on a busy machine, and roles are spread only among nodes already seen.
    const args = ['--announce-interface', 'eth0', '--startup-grace-ms', '6000'];
    agents.set(node, await startAgent(lab, node, configPath, dir.path, args));
  };

  beforeAll(async () => {
    lab = await buildLab({ gateways: 3, workers: 1, podsPerWorker: 1 });
    writeConfig(configPath, config());
    await Promise.all(GATEWAYS.map(start));
    await steerWorker(lab, 'worker1', VIP, { onlink: true });
    await waitForSource(lab, 'worker1-pod1', VIP, 15_000);
  }, 60_000);

  afterAll(async () => {
    for (const agent of agents.values()) await agent.kill('SIGTERM');
    await lab?.teardown();
    dir.dispose();
  });

  it('spreads two gateways that share nodes over different active nodes', async () => {
    await expect.poll(() => activeNode(agents, 'egress-gw-2'), { timeout: 5000 }).toBeDefined();
    const first = activeNode(agents, 'egress-gw');
    const second = activeNode(agents, 'egress-gw-2');
    const seen = JSON.stringify([
      ...takeovers(agents, 'egress-gw'),
      ...takeovers(agents, 'egress-gw-2'),
    ]);
    expect(first, seen).toBeDefined();
    expect(first, seen).not.toBe(second);
  });

  it('moves the VIP to another node within a second of killing the active agent, source unchanged', async () => {
    const victim = activeNode(agents, 'egress-gw')!;
    const failover = await measureFailover(lab, 'worker1-pod1', () =>
      agents.get(victim)!.kill('SIGKILL'),
    );
    console.log(
      `failover: ${failover.ms} ms from SIGKILL to traffic through the new node (${failover.lost} probes lost)`,
    );
    expect(failover.before).toBe(VIP);
    expect(failover.after).toBe(VIP);
    expect(failover.ms).toBeLessThan(1000);
    await expect.poll(() => activeNode(agents, 'egress-gw'), { timeout: 2000 }).not.toBe(victim);
    expect(takeovers(agents, 'egress-gw').at(-1)?.reason).toBe('failover');
  });

  it('does not give the role back when the killed node returns', async () => {
    const holder = activeNode(agents, 'egress-gw')!;
    const returned = GATEWAYS.find((node) => !agents.get(node)!.running)!;
    await start(returned);
    // Past its startup grace (6 s): it could have taken the role back by now.
    await new Promise((resolve) => setTimeout(resolve, 7000));
    expect(activeNode(agents, 'egress-gw')).toBe(holder);
    expect((await lab.askSource('worker1-pod1', 'udp')).ip).toBe(VIP);
  });

  it('moves the role off a cordoned node', async () => {
    const holder = activeNode(agents, 'egress-gw')!;
    writeConfig(configPath, config(holder));
    await expect.poll(() => activeNode(agents, 'egress-gw'), { timeout: 5000 }).not.toBe(holder);
    // The role event comes before the new node's announcement: allow it a moment.
    await expect
      .poll(
        () =>
          lab
            .askSource('worker1-pod1', 'udp', 300)
            .then((s) => s.ip)
            .catch(() => null),
        { timeout: 3000 },
      )
      .toBe(VIP);
  });
});
