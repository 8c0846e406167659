import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  activeNode,
  type LabConfig,
  measureFailover,
  OUTSIDE,
  startAgent,
  VIP,
  waitFor,
  workDir,
  writeConfig,
} from '../../lab/egressgw-agents.ts';
import { buildLab, type Lab, type LabProcess } from '../../lab/index.ts';

// Steering on every node (issue #5): agents on three gateways AND on two workers, one of
// them behind the node router (another subnet), so selected pods reach their gateway's
// active node through the VXLAN tunnel the agents program, whatever the node network.
//
//   gw-a  VirtualIPAddress 172.18.18.242 on gw2, gw3   policy team-a: namespace team-a, app=web, to 203.0.113.10/32
//   gw-b  primary IP of eth1            on gw2, gw3   policy team-b: namespace team-b, app=web, to 203.0.113.0/24
//
// The workers' "own path" to the outside is the kernel baseline on gw1 (masquerade to
// 172.18.18.11), a node that is no gateway: what unselected pods and unselected
// destinations must keep using.
//
// gw2 and gw3 run a team-a pod each (gw2-pod1, gw3-pod1): the one on gw-a's active node
// goes straight into that node's TUN, the one on the hot standby through the tunnel to
// the active node; both must leave with the VIP, before and after a failover swaps them.

const OTHER_OUTSIDE = '203.0.113.11';
const NODE_PATH = '172.18.18.11';
const PRIMARY = { gw2: '172.18.18.12', gw3: '172.18.18.13' } as Record<string, string>;
const EGRESS = { 'egress-node': '' };
const NODES = ['gw1', 'gw2', 'gw3', 'worker1', 'worker2'];
/** The nodes the gateways select (label egress-node). */
const EGRESS_NODES = ['gw2', 'gw3'];
/** gw-a's nodes, each with one team-a pod (lab role `<node>-pod1`). */
const GW_A_NODES = ['gw2', 'gw3'];
const TUNNEL = 'egw-vxlan';

interface Options {
  /** gw-b selects no node at all: its traffic must be dropped (fail-closed). */
  gatewayBGone?: boolean;
  /** worker2-pod3 exists and is selected by team-a. */
  newPod?: boolean;
}

function config(options: Options = {}): LabConfig {
  return {
    gateways: [
      { name: 'gw-a', mode: 'vip', nodeSelector: EGRESS, vip: VIP },
      { name: 'gw-b', mode: 'primary', nodeSelector: options.gatewayBGone ? { none: '' } : EGRESS },
    ],
    policies: [
      {
        name: 'team-a',
        gateway: 'gw-a',
        app: 'web',
        namespace: 'team-a',
        destinations: [`${OUTSIDE}/32`],
      },
      {
        name: 'team-b',
        gateway: 'gw-b',
        app: 'web',
        namespace: 'team-b',
        destinations: ['203.0.113.0/24'],
      },
    ],
    nodes: [
      { name: 'gw1', address: '192.168.77.11', labels: {} },
      { name: 'gw2', address: '192.168.77.12', labels: EGRESS, podCIDR: '10.244.12.0/24' },
      { name: 'gw3', address: '192.168.77.13', labels: EGRESS, podCIDR: '10.244.13.0/24' },
      { name: 'worker1', address: '192.168.77.21', labels: {}, podCIDR: '10.244.1.0/24' },
      { name: 'worker2', address: '192.168.78.22', labels: {}, podCIDR: '10.244.2.0/24' },
    ],
    pods: [
      { name: 'a-1', ip: '10.244.1.11', node: 'worker1', app: 'web', namespace: 'team-a' },
      { name: 'b-1', ip: '10.244.1.12', node: 'worker1', app: 'web', namespace: 'team-b' },
      { name: 'db-1', ip: '10.244.1.13', node: 'worker1', app: 'db', namespace: 'team-a' },
      { name: 'b-2', ip: '10.244.2.11', node: 'worker2', app: 'web', namespace: 'team-b' },
      { name: 'a-2', ip: '10.244.2.12', node: 'worker2', app: 'web', namespace: 'team-a' },
      { name: 'a-gw2', ip: '10.244.12.11', node: 'gw2', app: 'web', namespace: 'team-a' },
      { name: 'a-gw3', ip: '10.244.13.11', node: 'gw3', app: 'web', namespace: 'team-a' },
      ...(options.newPod
        ? [{ name: 'a-3', ip: '10.244.2.13', node: 'worker2', app: 'web', namespace: 'team-a' }]
        : []),
    ],
  };
}

describe('steering on every node, across a layer 2 segment and a router', () => {
  let lab: Lab;
  const agents = new Map<string, LabProcess>();
  const dir = workDir();
  const configPath = `${dir.path}/config.yaml`;
  let vipNodeBeforeFailover: string | undefined;

  const start = async (node: string): Promise<void> => {
    agents.set(
      node,
      await startAgent(lab, node, configPath, dir.path, ['--startup-grace-ms', '2000']),
    );
  };
  // The outside server answers UDP from its first address only: the other is asked by TCP.
  const source = (pod: string, host = OUTSIDE) =>
    lab
      .askSource(pod, host === OUTSIDE ? 'udp' : 'tcp', 500, host)
      .then((seen) => seen.ip)
      .catch(() => null);
  /** Back as a standby, past its startup grace: the next failover may need it. */
  const restart = async (node: string): Promise<void> => {
    await start(node);
    await new Promise((resolve) => setTimeout(resolve, 2500));
  };
  const primaryOfB = () => PRIMARY[activeNode(agents, 'gw-b') ?? ''];
  /** Packets the node has sent into its steering tunnel (0 while it has none). */
  const tunnelTxPackets = async (node: string): Promise<number> => {
    const shown = await lab.run(node, ['ip', '-j', '-s', 'link', 'show', 'dev', TUNNEL], {
      allowFailure: true,
    });
    if (shown.exitCode !== 0) return 0;
    const [link] = JSON.parse(shown.stdout) as { stats64: { tx: { packets: number } } }[];
    return link!.stats64.tx.packets;
  };
  /**
   * Each gw-a node's own pod gets the VIP: the active node's into its TUN (its tunnel
   * sends nothing), the standby's through the tunnel. Returns the active node.
   */
  const expectGatewayPodsOnVip = async (): Promise<string> => {
    const active = activeNode(agents, 'gw-a')!;
    expect(GW_A_NODES).toContain(active);
    for (const node of GW_A_NODES) {
      const before = await tunnelTxPackets(node);
      await waitFor(
        async () => (await source(`${node}-pod1`)) === VIP,
        3000,
        `${node}-pod1 on the VIP`,
      );
      const tunnelled = (await tunnelTxPackets(node)) - before;
      if (node === active) expect(tunnelled, `${node} is active: no tunnel`).toBe(0);
      else expect(tunnelled, `${node} is standby: tunnel`).toBeGreaterThan(0);
    }
    return active;
  };

  beforeAll(async () => {
    lab = await buildLab({
      gateways: 3,
      workers: 2,
      workerBehindRouter: true,
      podsPerWorker: 3,
      podsPerGateway: 1,
    });
    await lab.enableKernelBaseline({ gateway: 'gw1', destinations: ['203.0.113.0/24'] });
    await lab.ip('outside', [`address add ${OTHER_OUTSIDE}/24 dev eth0`]);
    writeConfig(configPath, config());
    await Promise.all(NODES.map(start));
    await waitFor(async () => (await source('worker1-pod1')) === VIP, 15_000, 'steered traffic');
  }, 60_000);

  afterAll(async () => {
    for (const agent of agents.values()) await agent.kill('SIGTERM');
    await lab?.teardown();
    dir.dispose();
  });

  it('gives every pod the source its policy says, from both workers', async () => {
    await expect.poll(() => primaryOfB(), { timeout: 5000 }).toBeDefined();
    const b = primaryOfB();
    // Two gateways on the same two nodes: one each.
    expect(activeNode(agents, 'gw-a')).not.toBe(activeNode(agents, 'gw-b'));
    expect(await source('worker1-pod1')).toBe(VIP); // team-a, same segment
    expect(await source('worker2-pod2')).toBe(VIP); // team-a, behind the router
    expect(await source('worker1-pod2')).toBe(b); // team-b
    expect(await source('worker2-pod1')).toBe(b);
    // TCP and ICMP take the same path.
    expect((await lab.askSource('worker2-pod2', 'tcp')).ip).toBe(VIP);
    await lab.outsideIcmpSources({ clear: true });
    expect((await lab.ping('worker2-pod1', OUTSIDE, { count: 1 })).rttsMs).toHaveLength(1);
    expect(await lab.outsideIcmpSources()).toEqual([b]);
  });

  it('starts the TUN dataplane only on nodes that may be gateways', async () => {
    for (const node of NODES) {
      const links = await lab.run(node, ['ip', '-br', 'link']);
      const gateway = EGRESS_NODES.includes(node);
      expect(links.stdout.includes('egw0'), `${node} has a TUN: ${gateway}`).toBe(gateway);
    }
  });

  it('leaves unselected pods and destinations on the node’s own path', async () => {
    expect(await source('worker1-pod3')).toBe(NODE_PATH); // app=db: no policy
    expect(await source('worker1-pod1', OTHER_OUTSIDE)).toBe(NODE_PATH); // team-a is /32
    expect(await source('worker1-pod2', OTHER_OUTSIDE)).toBe(primaryOfB()); // team-b is /24
  });

  it('keeps path MTU discovery working through the tunnel', async () => {
    // 1500-byte pod packets do not fit the tunnel (1450): the worker says so, nothing hangs.
    const ping = await lab.ping('worker1-pod1', OUTSIDE, {
      count: 1,
      payloadBytes: 1472,
      dontFragment: true,
    });
    expect(ping.fragmentationNeededMtu).toBe(1450);
    const transfer = await lab.iperfTcp('worker2-pod2', { seconds: 1 });
    expect(transfer.receivedBitsPerSecond).toBeGreaterThan(10_000_000);
  });

  it('steers the gateway nodes’ own pods: the active one in its TUN, the standby’s tunnelled', async () => {
    vipNodeBeforeFailover = await expectGatewayPodsOnVip();
  });

  it('follows a VIP failover from behind the router within a second', async () => {
    const victim = activeNode(agents, 'gw-a')!;
    const failover = await measureFailover(lab, 'worker2-pod2', () =>
      agents.get(victim)!.kill('SIGKILL'),
    );
    console.log(`steered VIP failover: ${failover.ms} ms (${failover.lost} probes lost)`);
    expect(failover.before).toBe(VIP);
    expect(failover.after).toBe(VIP);
    expect(failover.ms).toBeLessThan(1000);
    await restart(victim);
  });

  it('still steers the gateway nodes’ own pods after the VIP failover, roles swapped', async () => {
    expect(vipNodeBeforeFailover).toBeDefined();
    expect(await expectGatewayPodsOnVip()).not.toBe(vipNodeBeforeFailover);
  });

  it('follows a primary-IP failover to the new node’s address within a second', async () => {
    const victim = activeNode(agents, 'gw-b')!;
    const failover = await measureFailover(lab, 'worker1-pod2', () =>
      agents.get(victim)!.kill('SIGKILL'),
    );
    console.log(`steered primary-IP failover: ${failover.ms} ms (${failover.lost} probes lost)`);
    expect(failover.before).toBe(PRIMARY[victim]);
    expect(failover.after).not.toBe(PRIMARY[victim]);
    expect(Object.values(PRIMARY)).toContain(failover.after);
    expect(failover.ms).toBeLessThan(1000);
    await restart(victim);
  });

  it('drops the traffic of a gateway without a suitable node (fail-closed)', async () => {
    writeConfig(configPath, config({ gatewayBGone: true }));
    await waitFor(async () => (await source('worker1-pod2')) === null, 5000, 'team-b refused');
    // Not one probe leaks out with a node's address while the gateway is gone.
    for (const pod of ['worker1-pod2', 'worker2-pod1']) {
      const reports = await lab.probeSource(pod, 'udp', {
        count: 5,
        intervalMs: 50,
        timeoutMs: 200,
      });
      expect(reports.every((report) => !report.ok)).toBe(true);
    }
    expect(await source('worker1-pod1')).toBe(VIP); // the other gateway is untouched
    writeConfig(configPath, config());
    await waitFor(async () => (await source('worker1-pod2')) !== null, 10_000, 'team-b back');
  });

  it('holds a pod nobody knows yet, steers it once known, and holds it again when gone', async () => {
    // worker2-pod3 has an address but no Pod object yet: it would leak with the node's
    // address (the baseline path) if the guard let it out.
    const before = await lab.probeSource('worker2-pod3', 'udp', { count: 3, timeoutMs: 300 });
    expect(before.every((report) => !report.ok)).toBe(true);
    writeConfig(configPath, config({ newPod: true }));
    await waitFor(async () => (await source('worker2-pod3')) === VIP, 5000, 'new pod steered');
    writeConfig(configPath, config());
    await waitFor(async () => (await source('worker2-pod3')) === null, 5000, 'pod held again');
  });

  it('repairs a tunnel deleted behind its back, refusing the traffic meanwhile', async () => {
    await lab.run('worker1', ['ip', 'link', 'del', TUNNEL]);
    // Until the repair loop (every 5 s) brings it back, the table's unreachable route
    // refuses the traffic rather than letting it out with the node's address.
    const meanwhile = await source('worker1-pod1');
    expect(meanwhile === null || meanwhile === VIP).toBe(true);
    await waitFor(async () => (await source('worker1-pod1')) === VIP, 8000, 'tunnel repaired');
  });

  it('removes everything it programmed on a worker when its agent stops', async () => {
    await agents.get('worker1')!.kill('SIGTERM');
    const rules = await lab.run('worker1', ['ip', '-4', 'rule', 'show']);
    expect(rules.stdout).not.toMatch(/proto 158|lookup 77\d\d/);
    const links = await lab.run('worker1', ['ip', '-br', 'link']);
    expect(links.stdout).not.toContain('egw-vxlan');
    const nft = await lab.run('worker1', ['nft', 'list', 'tables']);
    expect(nft.stdout).not.toContain('egressgw');
    // Its pods are back on the node's own path.
    expect(await source('worker1-pod1')).toBe(NODE_PATH);
  });
});
