/**
 * The lab as iproute2 batch lines: what the builder runs, computed without touching the
 * system so that it can be read and tested.
 *
 * Invariants:
 *  - `createLinks` runs in the root namespace, yet every line places both ends of its
 *    link in a lab namespace (`netns` on the device and on the peer), so nothing is ever
 *    created in, or moved through, the root namespace;
 *  - bridges exist only in the fabric namespace;
 *  - `configure` holds, per namespace, lines for `ip -n NS -batch -`: links up and
 *    addresses (with device routes beside them) first, routes through a next hop last,
 *    so every next hop is on-link when its route is added.
 */

import {
  BRIDGES,
  type LabNode,
  type LabTopology,
  labAddresses,
  labNamespaces,
  labNodes,
  NODE_INTERFACE,
  POD_INTERFACE,
  UPLINK_INTERFACE,
} from './topology.ts';

export interface NetworkPlan {
  namespaces: string[];
  createLinks: string[];
  /**
   * Per namespace, `key=value` pairs for sysctl, set after the links exist (so per-device
   * keys work) and before `configure` brings them up.
   */
  sysctls: Map<string, string[]>;
  configure: Map<string, string[]>;
  /** Per namespace, its veth ends (both ends of every pair are listed). */
  veths: Map<string, string[]>;
}

const PREFIX_LENGTH = 24;

// rp_filter off: egress steering sends replies back on paths the reverse-path check
// would reject. It is set on `all` and on every device, because a device copies
// `default` when it is created and, with devconf_inherit_init_net=1, that is the host's
// value. IPv6 off (`all` reaches existing devices too): the lab is IPv4-only for now, and
// router solicitations and MLD reports would otherwise show up in packet counts.
const COMMON_SYSCTLS = [
  'net.ipv4.conf.all.rp_filter=0',
  'net.ipv4.conf.default.rp_filter=0',
  'net.ipv6.conf.all.disable_ipv6=1',
  'net.ipv6.conf.default.disable_ipv6=1',
];
const FORWARDING_SYSCTLS = [...COMMON_SYSCTLS, 'net.ipv4.ip_forward=1'];

export function planNetwork(topology: LabTopology): NetworkPlan {
  const plan: NetworkPlan = {
    namespaces: labNamespaces(topology),
    createLinks: [],
    sysctls: new Map(),
    configure: new Map(),
    veths: new Map(),
  };
  const fabric = topology.fabric.netns;
  const { mtu } = topology;
  const lines = (netns: string): string[] => {
    let list = plan.configure.get(netns);
    if (list === undefined) {
      list = ['link set lo up'];
      plan.configure.set(netns, list);
    }
    return list;
  };
  const veth = (a: string, aNetns: string, b: string, bNetns: string, linkMtu: number) => {
    plan.createLinks.push(
      `link add ${a} netns ${aNetns} mtu ${linkMtu} type veth peer name ${b} netns ${bNetns} mtu ${linkMtu}`,
    );
    for (const [netns, name] of [
      [aNetns, a],
      [bNetns, b],
    ] as const) {
      plan.veths.set(netns, [...(plan.veths.get(netns) ?? []), name]);
    }
  };
  const bridge = (name: string, bridgeMtu: number) => {
    plan.createLinks.push(`link add ${name} netns ${fabric} mtu ${bridgeMtu} type bridge`);
    lines(fabric).push(`link set ${name} up`);
  };
  const port = (name: string, bridgeName: string) => {
    lines(fabric).push(`link set ${name} master ${bridgeName} up`);
  };
  const address = (netns: string, device: string, ip: string, prefixLength = PREFIX_LENGTH) => {
    lines(netns).push(`link set ${device} up`, `addr add ${ip}/${prefixLength} dev ${device}`);
  };

  for (const netns of plan.namespaces) plan.sysctls.set(netns, COMMON_SYSCTLS);

  bridge(BRIDGES.node, mtu.node);
  bridge(BRIDGES.uplink, mtu.uplink);
  if (topology.nodeRouter !== undefined) bridge(BRIDGES.remoteNode, mtu.node);

  for (const node of labNodes(topology)) {
    plan.sysctls.set(node.netns, FORWARDING_SYSCTLS);
    veth(node.nodeFabricPort, fabric, NODE_INTERFACE, node.netns, mtu.node);
    const onRemoteSubnet = node.role === 'worker' && node.behindRouter;
    port(node.nodeFabricPort, onRemoteSubnet ? BRIDGES.remoteNode : BRIDGES.node);
    address(node.netns, NODE_INTERFACE, node.nodeIp);
  }
  for (const gateway of topology.gateways) {
    veth(gateway.uplinkFabricPort, fabric, UPLINK_INTERFACE, gateway.netns, mtu.uplink);
    port(gateway.uplinkFabricPort, BRIDGES.uplink);
    address(gateway.netns, UPLINK_INTERFACE, gateway.uplinkIp);
  }
  for (const node of labNodes(topology)) planPods(node, mtu.node, veth, lines);

  const nodeRouter = topology.nodeRouter;
  if (nodeRouter !== undefined) {
    plan.sysctls.set(nodeRouter.netns, FORWARDING_SYSCTLS);
    veth(nodeRouter.fabricPort, fabric, 'eth0', nodeRouter.netns, mtu.node);
    veth(nodeRouter.remoteFabricPort, fabric, 'eth1', nodeRouter.netns, mtu.node);
    port(nodeRouter.fabricPort, BRIDGES.node);
    port(nodeRouter.remoteFabricPort, BRIDGES.remoteNode);
    address(nodeRouter.netns, 'eth0', nodeRouter.ip);
    address(nodeRouter.netns, 'eth1', nodeRouter.remoteIp);
  }

  const controlPlane = topology.controlPlane;
  if (controlPlane !== undefined) {
    veth(controlPlane.fabricPort, fabric, 'eth0', controlPlane.netns, mtu.node);
    port(controlPlane.fabricPort, BRIDGES.node);
    address(controlPlane.netns, 'eth0', controlPlane.ip);
    if (nodeRouter !== undefined) {
      lines(controlPlane.netns).push(
        `route add ${labAddresses.remoteNodeNetwork} via ${nodeRouter.ip} dev eth0`,
      );
    }
  }

  const { router, outside } = topology;
  plan.sysctls.set(router.netns, FORWARDING_SYSCTLS);
  veth(router.fabricPort, fabric, 'eth0', router.netns, mtu.uplink);
  port(router.fabricPort, BRIDGES.uplink);
  address(router.netns, 'eth0', router.uplinkIp);
  // The router-outside link is a direct veth: its MTU is what path-MTU tests vary.
  veth('eth1', router.netns, 'eth0', outside.netns, mtu.outside);
  address(router.netns, 'eth1', router.outsideIp);
  address(outside.netns, 'eth0', outside.ip);
  lines(outside.netns).push(`route add default via ${router.outsideIp} dev eth0`);

  planNodeRoutes(topology, lines);
  for (const [netns, devices] of plan.veths) {
    const own = devices.map((device) => `net.ipv4.conf.${device}.rp_filter=0`);
    plan.sysctls.set(netns, [...(plan.sysctls.get(netns) ?? []), ...own]);
  }
  return plan;
}

/** Worker and gateway pods alike: a veth, the node-side gateway address and a /32 route. */
function planPods(
  node: LabNode,
  mtu: number,
  veth: (a: string, aNetns: string, b: string, bNetns: string, mtu: number) => void,
  lines: (netns: string) => string[],
): void {
  for (const pod of node.pods) {
    // Pods get the node network's MTU, like a CNI without encapsulation.
    veth(pod.hostInterface, node.netns, POD_INTERFACE, pod.netns, mtu);
    const host = lines(node.netns);
    host.push(
      `link set ${pod.hostInterface} up`,
      `addr add ${pod.gatewayIp}/32 dev ${pod.hostInterface}`,
      `route add ${pod.ip}/32 dev ${pod.hostInterface}`,
    );
    lines(pod.netns).push(
      `link set ${POD_INTERFACE} up`,
      `addr add ${pod.ip}/32 dev ${POD_INTERFACE}`,
      `route add ${pod.gatewayIp} dev ${POD_INTERFACE} scope link`,
      `route add default via ${pod.gatewayIp} dev ${POD_INTERFACE}`,
    );
  }
}

/**
 * What a flat CNI would give every node: a route to each other node's pod CIDR via that
 * node (or via the node router when it sits on the other subnet), and gateways' default
 * route to the uplink router. Workers get no default route: egress steering decides.
 */
function planNodeRoutes(topology: LabTopology, lines: (netns: string) => string[]): void {
  const nodes = labNodes(topology);
  const nodeRouter = topology.nodeRouter;
  for (const node of nodes) {
    const own = lines(node.netns);
    // The node router's address on this node's own subnet.
    const routerIp =
      nodeRouter === undefined
        ? undefined
        : node.nodeNetwork === labAddresses.remoteNodeNetwork
          ? nodeRouter.remoteIp
          : nodeRouter.ip;
    if (routerIp !== undefined) {
      const other =
        node.nodeNetwork === labAddresses.remoteNodeNetwork
          ? labAddresses.nodeNetwork
          : labAddresses.remoteNodeNetwork;
      own.push(`route add ${other} via ${routerIp} dev ${NODE_INTERFACE}`);
    }
    for (const peer of nodes) {
      if (peer === node) continue;
      const via = peer.nodeNetwork === node.nodeNetwork ? peer.nodeIp : routerIp;
      own.push(`route add ${peer.podCidr} via ${via} dev ${NODE_INTERFACE}`);
    }
  }
  for (const gateway of topology.gateways) {
    lines(gateway.netns).push(
      `route add default via ${topology.router.uplinkIp} dev ${UPLINK_INTERFACE}`,
    );
  }
  if (nodeRouter !== undefined) {
    for (const node of nodes) {
      const dev = node.nodeNetwork === labAddresses.remoteNodeNetwork ? 'eth1' : 'eth0';
      lines(nodeRouter.netns).push(`route add ${node.podCidr} via ${node.nodeIp} dev ${dev}`);
    }
  }
}
