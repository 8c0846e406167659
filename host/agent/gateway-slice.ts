import type { NodeInterface } from '../control/inputs.ts';
import type { PortRanges } from '../control/nat-policy.ts';
import { toNatPolicy } from '../control/nat-policy.ts';
import { primaryIPv4 } from '../control/node-fitness.ts';
import type { IPv4 } from '../model/addresses.ts';
import type { EgressState } from '../model/egress-state.ts';
import type { NatPolicy } from '../model/nat-policy.ts';
import type { GatewayRole, LocalEgress, SteeringRule } from '../net/gateway-plan.ts';

/**
 * What one gateway node does for the egress model: the core's policy (what to translate
 * to which address), the Linux side (which traffic goes into the TUN, which VIPs are
 * routed to it, which of the node's own addresses lend their ports). A node that is
 * active for nothing gets empty lists, which removes everything.
 */
export interface GatewaySlice {
  natPolicy: NatPolicy;
  role: GatewayRole;
}

/** The VIPs of the groups active on this node, sorted: what it announces and routes. */
export function activeVips(state: EgressState, nodeName: string): IPv4[] {
  const vips = new Set<IPv4>();
  for (const group of state.groups) {
    if (group.activeNode === nodeName && group.mode === 'virtual-ip' && group.egressIP !== null) {
      vips.add(group.egressIP);
    }
  }
  return [...vips].sort();
}

export interface GatewaySliceOptions {
  /**
   * This node's own selected pods: steering-slice.ts decides where their traffic goes
   * (this TUN or another node's), so the gateway side never marks them.
   */
  localSources?: ReadonlySet<IPv4>;
}

export function gatewaySlice(
  state: EgressState,
  nodeName: string,
  interfaces: readonly NodeInterface[],
  ports: PortRanges,
  options: GatewaySliceOptions = {},
): GatewaySlice {
  const skip = options.localSources ?? new Set<IPv4>();
  const natPolicy = toNatPolicy(state, nodeName, interfaces, ports);
  const served = new Set(natPolicy.egress.map((egress) => egress.ip));
  const localEgress: LocalEgress[] = [];
  const activeGroups = new Set<string>();
  for (const group of state.groups) {
    if (group.activeNode !== nodeName) continue;
    if (group.mode === 'virtual-ip' && group.egressIP !== null) {
      activeGroups.add(group.key);
      continue;
    }
    const ip =
      group.mode === 'primary-ip'
        ? group.interfaceName === null
          ? null
          : primaryIPv4(interfaces, group.interfaceName)
        : group.egressIP;
    if (ip === null || !served.has(ip)) continue;
    activeGroups.add(group.key);
    if (!localEgress.some((local) => local.ip === ip)) {
      localEgress.push({ ip, portMin: ports.nodeOwned.portMin, portMax: ports.nodeOwned.portMax });
    }
  }
  const steering: SteeringRule[] = [];
  for (const rule of state.rules) {
    if (!activeGroups.has(rule.group)) continue;
    const sources = rule.sources.filter((source) => !skip.has(source));
    if (sources.length === 0) continue;
    steering.push({
      id: rule.id,
      sources: sources.map((source) => `${source}/32`),
      destinations: [...rule.destinations],
      excluded: [...rule.excluded],
    });
  }
  return {
    natPolicy,
    role: { steering, vips: activeVips(state, nodeName), localEgress, tunnel: null },
  };
}
