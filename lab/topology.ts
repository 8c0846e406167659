/**
 * Who is who in the lab: every namespace, its role name, interfaces and addresses.
 *
 *   node n        node IP                 pod CIDR          uplink IP
 *   worker k      192.168.77.(20+k)       10.244.k.0/24     -
 *                 (192.168.78.(20+k) when behind the node router)
 *   gateway i     192.168.77.(10+i)       10.244.(10+i).0/24 172.18.18.(10+i)
 *   pod j on node n (worker k: n = k; gateway i: n = 10+i): 10.244.n.(10+j)/32, role
 *   name <node>-pod<j>; its default gateway 10.244.n.1 sits on the node's side of every
 *   pod veth. Gateways have pods only when the spec asks (podsPerGateway).
 *
 * Invariants: role names are unique; every address appears once (10.244.n.1 is the one
 * deliberate exception, on every pod veth of node n, like a CNI's host-side gateway);
 * every pod's address lies in its node's pod CIDR; interface names are <= 15 bytes;
 * nothing here touches the system.
 */

import type { Cidr, IPv4 } from '../host/model/addresses.ts';
import { LabError } from './errors.ts';
import { checkInterfaceName, namespaceName } from './names.ts';
import type { ResolvedLabSpec } from './spec.ts';

export const labAddresses = {
  nodeNetwork: '192.168.77.0/24',
  remoteNodeNetwork: '192.168.78.0/24',
  nodeRouterIp: '192.168.77.1',
  nodeRouterRemoteIp: '192.168.78.1',
  controlPlaneIp: '192.168.77.2',
  clusterPodCidr: '10.244.0.0/16',
  // The seed's public network and VIP (deckhouse-egress-gateway docs).
  uplinkNetwork: '172.18.18.0/24',
  uplinkRouterIp: '172.18.18.1',
  vip: '172.18.18.242',
  // TEST-NET-3 (RFC 5737): never routed on the real Internet.
  outsideNetwork: '203.0.113.0/24',
  routerOutsideIp: '203.0.113.1',
  outsideIp: '203.0.113.10',
} as const;

export const labPorts = {
  /** The outside server answers TCP and UDP on this port with the source it saw. */
  source: 7777,
  iperf: 5201,
} as const;

/** A node's interface on the node network, and a gateway's on the uplink network. */
export const NODE_INTERFACE = 'eth0';
export const UPLINK_INTERFACE = 'eth1';
export const POD_INTERFACE = 'eth0';

interface NodeCommon {
  /** Role name: gw1..gw3, worker1..worker2. */
  name: string;
  netns: string;
  /** n in 10.244.n.0/24. */
  index: number;
  nodeIp: IPv4;
  /** The node subnet this node sits on. */
  nodeNetwork: Cidr;
  podCidr: Cidr;
  /** The fabric-side end of this node's eth0 (a port of the node bridge). */
  nodeFabricPort: string;
  /** The pods on this node, pod1 first. */
  pods: LabPod[];
}

export interface GatewayNode extends NodeCommon {
  role: 'gateway';
  uplinkIp: IPv4;
  /** The fabric-side end of this gateway's eth1 (a port of the uplink bridge). */
  uplinkFabricPort: string;
}

export interface WorkerNode extends NodeCommon {
  role: 'worker';
  behindRouter: boolean;
}

export type LabNode = GatewayNode | WorkerNode;

export interface LabPod {
  /** Role name: worker1-pod1, ..., gw2-pod1, ... */
  name: string;
  netns: string;
  ip: IPv4;
  /** Role name of the node the pod runs on. */
  node: string;
  /** The node's end of the pod's veth: pod1, pod2, ... */
  hostInterface: string;
  /** The node-side address every pod of this node uses as its default gateway. */
  gatewayIp: IPv4;
}

export interface NodeRouter {
  name: 'node-router';
  netns: string;
  ip: IPv4;
  remoteIp: IPv4;
  fabricPort: string;
  remoteFabricPort: string;
}

/** Where a test exposes its API server to the nodes (see Lab.bridgeToUnixSocket). */
export interface ControlPlane {
  name: 'control-plane';
  netns: string;
  ip: IPv4;
  fabricPort: string;
}

export interface UplinkRouter {
  name: 'router';
  netns: string;
  uplinkIp: IPv4;
  outsideIp: IPv4;
  fabricPort: string;
}

export interface OutsideHost {
  name: 'outside';
  netns: string;
  ip: IPv4;
  sourcePort: number;
  iperfPort: number;
}

export interface LabTopology {
  prefix: string;
  fabric: { name: 'fabric'; netns: string };
  gateways: GatewayNode[];
  workers: WorkerNode[];
  /** Every node's pods, in labNodes order (gateways' first). */
  pods: LabPod[];
  nodeRouter: NodeRouter | undefined;
  controlPlane: ControlPlane | undefined;
  router: UplinkRouter;
  outside: OutsideHost;
  mtu: { node: number; uplink: number; outside: number };
  txChecksumOffload: boolean;
}

export const BRIDGES = { node: 'br-node', remoteNode: 'br-node2', uplink: 'br-uplink' } as const;

/** Pods pod1..podN of the node with pod CIDR 10.244.<index>.0/24. */
function nodePods(prefix: string, node: string, index: number, count: number): LabPod[] {
  const pods: LabPod[] = [];
  for (let j = 1; j <= count; j++) {
    const name = `${node}-pod${j}`;
    pods.push({
      name,
      netns: namespaceName(prefix, name),
      ip: `10.244.${index}.${10 + j}`,
      node,
      hostInterface: `pod${j}`,
      gatewayIp: `10.244.${index}.1`,
    });
  }
  return pods;
}

export function buildTopology(spec: ResolvedLabSpec, prefix: string): LabTopology {
  const ns = (role: string): string => namespaceName(prefix, role);
  const gateways: GatewayNode[] = [];
  for (let i = 1; i <= spec.gateways; i++) {
    const name = `gw${i}`;
    gateways.push({
      role: 'gateway',
      name,
      netns: ns(name),
      index: 10 + i,
      nodeIp: `192.168.77.${10 + i}`,
      nodeNetwork: labAddresses.nodeNetwork,
      podCidr: `10.244.${10 + i}.0/24`,
      nodeFabricPort: `${name}-eth0`,
      pods: nodePods(prefix, name, 10 + i, spec.podsPerGateway),
      uplinkIp: `172.18.18.${10 + i}`,
      uplinkFabricPort: `${name}-eth1`,
    });
  }
  const workers: WorkerNode[] = [];
  for (let k = 1; k <= spec.workers; k++) {
    const name = `worker${k}`;
    const behindRouter = spec.workerBehindRouter && k === spec.workers;
    workers.push({
      role: 'worker',
      name,
      netns: ns(name),
      index: k,
      nodeIp: behindRouter ? `192.168.78.${20 + k}` : `192.168.77.${20 + k}`,
      nodeNetwork: behindRouter ? labAddresses.remoteNodeNetwork : labAddresses.nodeNetwork,
      podCidr: `10.244.${k}.0/24`,
      nodeFabricPort: `${name}-eth0`,
      pods: nodePods(prefix, name, k, spec.podsPerWorker),
      behindRouter,
    });
  }
  const topology: LabTopology = {
    prefix,
    fabric: { name: 'fabric', netns: ns('fabric') },
    gateways,
    workers,
    pods: [...gateways, ...workers].flatMap((node) => node.pods),
    nodeRouter: spec.workerBehindRouter
      ? {
          name: 'node-router',
          netns: ns('node-router'),
          ip: labAddresses.nodeRouterIp,
          remoteIp: labAddresses.nodeRouterRemoteIp,
          fabricPort: 'nrouter-eth0',
          remoteFabricPort: 'nrouter-eth1',
        }
      : undefined,
    controlPlane: spec.controlPlane
      ? {
          name: 'control-plane',
          netns: ns('control-plane'),
          ip: labAddresses.controlPlaneIp,
          fabricPort: 'cp-eth0',
        }
      : undefined,
    router: {
      name: 'router',
      netns: ns('router'),
      uplinkIp: labAddresses.uplinkRouterIp,
      outsideIp: labAddresses.routerOutsideIp,
      fabricPort: 'router-eth0',
    },
    outside: {
      name: 'outside',
      netns: ns('outside'),
      ip: labAddresses.outsideIp,
      sourcePort: labPorts.source,
      iperfPort: labPorts.iperf,
    },
    mtu: { node: spec.nodeMtu, uplink: spec.uplinkMtu, outside: spec.outsideMtu },
    txChecksumOffload: spec.txChecksumOffload,
  };
  for (const port of fabricPorts(topology)) checkInterfaceName(port);
  return topology;
}

/** Every lab namespace, the fabric first (it holds the bridges every other link joins). */
export function labNamespaces(topology: LabTopology): string[] {
  return [
    topology.fabric.netns,
    ...topology.gateways.map((node) => node.netns),
    ...topology.workers.map((node) => node.netns),
    ...topology.pods.map((pod) => pod.netns),
    ...(topology.nodeRouter === undefined ? [] : [topology.nodeRouter.netns]),
    ...(topology.controlPlane === undefined ? [] : [topology.controlPlane.netns]),
    topology.router.netns,
    topology.outside.netns,
  ];
}

function fabricPorts(topology: LabTopology): string[] {
  return [
    ...topology.gateways.flatMap((node) => [node.nodeFabricPort, node.uplinkFabricPort]),
    ...topology.workers.map((node) => node.nodeFabricPort),
    ...(topology.nodeRouter === undefined
      ? []
      : [topology.nodeRouter.fabricPort, topology.nodeRouter.remoteFabricPort]),
    ...(topology.controlPlane === undefined ? [] : [topology.controlPlane.fabricPort]),
    topology.router.fabricPort,
  ];
}

/** All nodes, gateways first. */
export function labNodes(topology: LabTopology): LabNode[] {
  return [...topology.gateways, ...topology.workers];
}

export function findNode(topology: LabTopology, name: string): LabNode {
  const node = labNodes(topology).find((candidate) => candidate.name === name);
  if (node === undefined) throw unknownName('node', name, labNodes(topology));
  return node;
}

export function findGateway(topology: LabTopology, name: string): GatewayNode {
  const node = topology.gateways.find((candidate) => candidate.name === name);
  if (node === undefined) throw unknownName('gateway', name, topology.gateways);
  return node;
}

export function findPod(topology: LabTopology, name: string): LabPod {
  const pod = topology.pods.find((candidate) => candidate.name === name);
  if (pod === undefined) throw unknownName('pod', name, topology.pods);
  return pod;
}

/**
 * Namespace of any role name: fabric, gw1, worker1, worker1-pod2, gw2-pod1, node-router,
 * control-plane, router, outside.
 */
export function findNetns(topology: LabTopology, name: string): string {
  const all = everyRole(topology);
  const match = all.find((candidate) => candidate.name === name);
  if (match === undefined) throw unknownName('namespace role', name, all);
  return match.netns;
}

function everyRole(topology: LabTopology): { name: string; netns: string }[] {
  return [
    topology.fabric,
    ...labNodes(topology),
    ...topology.pods,
    ...(topology.nodeRouter === undefined ? [] : [topology.nodeRouter]),
    ...(topology.controlPlane === undefined ? [] : [topology.controlPlane]),
    topology.router,
    topology.outside,
  ];
}

function unknownName(kind: string, name: string, known: { name: string }[]): LabError {
  const names = known.map((entry) => entry.name).join(', ');
  return new LabError('EGW_LAB_UNKNOWN_NAME', `no ${kind} ${JSON.stringify(name)}; have ${names}`);
}
