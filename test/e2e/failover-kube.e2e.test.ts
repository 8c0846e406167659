import { writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { CoordinationV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  activeNode,
  measureFailover,
  startAgent,
  steerWorker,
  VIP,
  waitForSource,
  workDir,
} from '../../lab/egressgw-agents.ts';
import { buildLab, type Lab, type LabProcess } from '../../lab/index.ts';
import { kubeconfigYaml } from '../support/apiserver/kubeconfig.ts';
import { startTestCluster, type TestCluster } from '../support/apiserver/testing.ts';

// Three gateway agents in Kubernetes mode against the in-process API server, which the
// lab's nodes reach through its control-plane namespace (192.168.77.2): Lease fencing,
// informers and status writing, with the same failover as in file mode.

const GATEWAYS = ['gw1', 'gw2', 'gw3'];
const LABEL = { 'node-role.deckhouse.io/egress': '' };
const API_PORT = 6443;

function node(name: string, i: number): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: LABEL },
    spec: { unschedulable: false },
    status: {
      conditions: [{ type: 'Ready', status: 'True' }],
      addresses: [{ type: 'InternalIP', address: `192.168.77.${11 + i}` }],
    },
  };
}

describe('failover between three gateways, Kubernetes mode', () => {
  let lab: Lab;
  let cluster: TestCluster;
  let relay: Server;
  const agents = new Map<string, LabProcess>();
  const dir = workDir();

  beforeAll(async () => {
    cluster = await startTestCluster();
    const apiPort = Number(new URL(cluster.kc.getCurrentCluster()!.server).port);
    // The lab cannot reach this process's loopback: a Unix socket can be shared.
    relay = createServer((socket) => {
      const upstream = connect(apiPort, '127.0.0.1');
      socket.pipe(upstream).pipe(socket);
      socket.on('error', () => upstream.destroy());
      upstream.on('error', () => socket.destroy());
    });
    await new Promise<void>((resolve) => relay.listen(`${dir.path}/api.sock`, resolve));

    lab = await buildLab({ gateways: 3, workers: 1, podsPerWorker: 1, controlPlane: true });
    await lab.bridgeToUnixSocket(`${dir.path}/api.sock`, API_PORT);
    writeFileSync(`${dir.path}/kubeconfig`, kubeconfigYaml(`http://192.168.77.2:${API_PORT}`));

    for (const [i, name] of GATEWAYS.entries()) cluster.server.seed(node(name, i));
    cluster.server.seed({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'worker1' },
      status: { conditions: [{ type: 'Ready', status: 'True' }] },
    });
    cluster.server.seed({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'backend-1', namespace: 'default', labels: { app: 'backend' } },
      spec: { nodeName: 'worker1' },
      status: { phase: 'Running', podIP: '10.244.1.11' },
    });
    const custom = cluster.kc.makeApiClient(CustomObjectsApi);
    const group = { group: 'network.deckhouse.io', version: 'v1alpha1' };
    await custom.createClusterCustomObject({
      ...group,
      plural: 'egressgateways',
      body: {
        apiVersion: 'network.deckhouse.io/v1alpha1',
        kind: 'EgressGateway',
        metadata: { name: 'egress-gw' },
        spec: {
          nodeSelector: LABEL,
          sourceIP: { mode: 'VirtualIPAddress', virtualIPAddress: { ip: VIP } },
        },
      },
    });
    await custom.createClusterCustomObject({
      ...group,
      plural: 'egressgatewaypolicies',
      body: {
        apiVersion: 'network.deckhouse.io/v1alpha1',
        kind: 'EgressGatewayPolicy',
        metadata: { name: 'backend' },
        spec: {
          destinationCIDRs: ['203.0.113.0/24'],
          egressGatewayName: 'egress-gw',
          selectors: [
            {
              podSelector: {
                matchLabels: { app: 'backend', 'io.kubernetes.pod.namespace': 'default' },
              },
            },
          ],
        },
      },
    });

    const args = [
      '--kubeconfig',
      `${dir.path}/kubeconfig`,
      '--announce-interface',
      'eth0',
      '--startup-grace-ms',
      '6000',
    ];
    await Promise.all(
      GATEWAYS.map(async (name) => {
        agents.set(name, await startAgent(lab, name, null, dir.path, args));
      }),
    );
    await steerWorker(lab, 'worker1', VIP, { onlink: true });
    await waitForSource(lab, 'worker1-pod1', VIP, 20_000);
  }, 90_000);

  afterAll(async () => {
    for (const agent of agents.values()) await agent.kill('SIGTERM');
    await lab?.teardown();
    relay?.close();
    await cluster?.server.stop();
    dir.dispose();
  });

  it('writes which node is active into the EgressGateway status', async () => {
    const custom = cluster.kc.makeApiClient(CustomObjectsApi);
    const read = async (): Promise<string | undefined> => {
      const gateway = (await custom.getClusterCustomObject({
        group: 'network.deckhouse.io',
        version: 'v1alpha1',
        plural: 'egressgateways',
        name: 'egress-gw',
      })) as { status?: { activeNode?: string } };
      return gateway.status?.activeNode;
    };
    await expect.poll(read, { timeout: 10_000 }).toBe(activeNode(agents, 'egress-gw'));
  });

  it("holds the role under a Lease in the agents' namespace", async () => {
    const leases = await cluster.kc
      .makeApiClient(CoordinationV1Api)
      .listNamespacedLease({ namespace: 'egressgw' });
    const holders = leases.items.map((lease) => lease.spec?.holderIdentity ?? '');
    // The holder is node/incarnation, so that a restarted node's old Lease is told apart.
    expect(holders.some((holder) => holder.startsWith(`${activeNode(agents, 'egress-gw')}/`))).toBe(
      true,
    );
  });

  it('fences the active role with a Lease and fails over within a second, source unchanged', async () => {
    const victim = activeNode(agents, 'egress-gw')!;
    const failover = await measureFailover(lab, 'worker1-pod1', () =>
      agents.get(victim)!.kill('SIGKILL'),
    );
    console.log(
      `failover (Kubernetes mode, Lease fenced): ${failover.ms} ms, ${failover.lost} probes lost`,
    );
    expect(failover.after).toBe(VIP);
    expect(failover.ms).toBeLessThan(1000);
    await expect.poll(() => activeNode(agents, 'egress-gw'), { timeout: 2000 }).not.toBe(victim);
  });

  it('fails over when the active node is cut off from the node network', async () => {
    const victim = activeNode(agents, 'egress-gw')!;
    const failover = await measureFailover(lab, 'worker1-pod1', () =>
      lab.setNodeLink(victim, 'node', 'down'),
    );
    console.log(
      `failover after cutting ${victim}'s link: ${failover.ms} ms, ${failover.lost} probes lost`,
    );
    expect(failover.after).toBe(VIP);
    // Usually ~540 ms, like a crash. But the cut node still has its uplink and keeps
    // answering ARP for the VIP there until it gives the role up at its Lease renew
    // deadline (1.5 s), so the uplink router may point at it until then (one run in three
    // here: 1.7 s). The bound is that deadline plus detection.
    expect(failover.ms).toBeLessThan(2500);
    await expect.poll(() => activeNode(agents, 'egress-gw'), { timeout: 3000 }).not.toBe(victim);
  });
});
