import { writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { startAgent, steerWorker, VIP, waitForSource, workDir } from '../../lab/egressgw-agents.ts';
import { buildLab, type Lab, type LabProcess } from '../../lab/index.ts';
import { kubeconfigYaml } from './apiserver/kubeconfig.ts';
import { startTestCluster, type TestCluster } from './apiserver/testing.ts';

/**
 * Three gateway agents in Kubernetes mode against the in-process API server, which the
 * lab's nodes reach through its control-plane namespace (192.168.77.2): one
 * VirtualIPAddress gateway `egress-gw` on gw1-gw3, one policy for `backend-1` on
 * worker1, and worker1 routing selected traffic with the VIP as on-link next hop.
 * The end-to-end suites of Kubernetes mode share it.
 */

export const GATEWAYS = ['gw1', 'gw2', 'gw3'];
export const GROUP = 'egress-gw';
const LABEL = { 'node-role.deckhouse.io/egress': '' };
const API_PORT = 6443;

export interface KubeGatewayLab {
  lab: Lab;
  cluster: TestCluster;
  agents: Map<string, LabProcess>;
  /** The directory with the kubeconfig and the agents' state. */
  dir: string;
  stop(): Promise<void>;
}

function gatewayNode(name: string, i: number): Record<string, unknown> {
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

async function seedObjects(cluster: TestCluster): Promise<void> {
  for (const [i, name] of GATEWAYS.entries()) cluster.server.seed(gatewayNode(name, i));
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
      metadata: { name: GROUP },
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
        egressGatewayName: GROUP,
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
}

/** Builds it all and waits until worker1-pod1's traffic leaves with the VIP. */
export async function startKubeGatewayLab(options: {
  startupGraceMs: number;
}): Promise<KubeGatewayLab> {
  const work = workDir();
  const agents = new Map<string, LabProcess>();
  let lab: Lab | undefined;
  let relay: Server | undefined;
  const cluster = await startTestCluster();
  const stop = async (): Promise<void> => {
    for (const agent of agents.values()) await agent.kill('SIGTERM');
    await lab?.teardown();
    relay?.close();
    await cluster.server.stop();
    work.dispose();
  };
  try {
    const apiPort = Number(new URL(cluster.kc.getCurrentCluster()!.server).port);
    // The lab cannot reach this process's loopback: a Unix socket can be shared.
    relay = createServer((socket) => {
      const upstream = connect(apiPort, '127.0.0.1');
      socket.pipe(upstream).pipe(socket);
      socket.on('error', () => upstream.destroy());
      upstream.on('error', () => socket.destroy());
    });
    await new Promise<void>((resolve) => relay!.listen(`${work.path}/api.sock`, resolve));
    lab = await buildLab({ gateways: 3, workers: 1, podsPerWorker: 1, controlPlane: true });
    await lab.bridgeToUnixSocket(`${work.path}/api.sock`, API_PORT);
    writeFileSync(`${work.path}/kubeconfig`, kubeconfigYaml(`http://192.168.77.2:${API_PORT}`));
    await seedObjects(cluster);
    const args = [
      ...['--kubeconfig', `${work.path}/kubeconfig`, '--announce-interface', 'eth0'],
      ...['--startup-grace-ms', String(options.startupGraceMs)],
    ];
    const built = lab;
    await Promise.all(
      GATEWAYS.map(async (name) => {
        agents.set(name, await startAgent(built, name, null, work.path, args));
      }),
    );
    await steerWorker(lab, 'worker1', VIP, { onlink: true });
    await waitForSource(lab, 'worker1-pod1', VIP, 20_000);
    return { lab, cluster, agents, dir: work.path, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
