import { CoordinationV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activeNode, measureFailover, VIP } from '../../lab/egressgw-agents.ts';
import type { Lab, LabProcess } from '../../lab/index.ts';
import type { TestCluster } from '../support/apiserver/testing.ts';
import { type KubeGatewayLab, startKubeGatewayLab } from '../support/kube-gateway-lab.ts';

// Three gateway agents in Kubernetes mode against the in-process API server, which the
// lab's nodes reach through its control-plane namespace (192.168.77.2): Lease fencing,
// informers and status writing, with the same failover as in file mode.

describe('failover between three gateways, Kubernetes mode', () => {
  let setup: KubeGatewayLab;
  let lab: Lab;
  let cluster: TestCluster;
  let agents: Map<string, LabProcess>;

  beforeAll(async () => {
    setup = await startKubeGatewayLab({ startupGraceMs: 6000 });
    ({ lab, cluster, agents } = setup);
  }, 90_000);

  afterAll(async () => {
    await setup?.stop();
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
    // Usually ~540 ms, like a crash: the cut node stops announcing once its peers no
    // longer hear it. At worst it keeps answering ARP for the VIP on its uplink until its
    // Lease renew deadline (1.5 s). The bound is that deadline plus detection.
    expect(failover.ms).toBeLessThan(2500);
    await expect.poll(() => activeNode(agents, 'egress-gw'), { timeout: 3000 }).not.toBe(victim);
  });
});
