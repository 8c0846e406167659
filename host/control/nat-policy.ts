import type { IPv4 } from '../model/addresses.ts';
import { parseIPv4 } from '../model/cidr.ts';
import type { EgressGroup, EgressState } from '../model/egress-state.ts';
import type { EgressAddress, NatPolicy, NatRule } from '../model/nat-policy.ts';
import { withClusterCIDRs } from './context.ts';
import { ControlError } from './errors.ts';
import type { NodeInterface } from './inputs.ts';
import { primaryIPv4 } from './node-fitness.ts';

/**
 * One gateway node's slice of the cluster model: the NatPolicy its packet core runs.
 *
 * - Only groups whose active node is this node contribute.
 * - The egress address of a primary-ip group is this node's primary IPv4 on the group's
 *   interface (`nodeInterfaces`, as the agent reads them now). A group whose interface
 *   has no IPv4 address here is left out: the node cannot translate for it, and
 *   compile() already marks such a node unsuitable once the agent has reported its
 *   interfaces.
 * - Port ranges depend on who else uses the address: the node's own addresses
 *   (primary-ip, static-ip) share their port space with the kernel's sockets, so they get
 *   `portRanges.nodeOwned` (kept clear of net.ipv4.ip_local_port_range by the caller);
 *   VIPs belong to egressgw alone and get `portRanges.virtual`. An address used by several
 *   groups appears once; if it is node-owned for any of them, the node-owned range wins.
 * - Rules keep the cluster-wide precedence order; rules without sources are left out;
 *   every rule's excluded list has the cluster CIDRs folded in.
 */

export interface PortRange {
  portMin: number;
  portMax: number;
}

export interface PortRanges {
  nodeOwned: PortRange;
  virtual: PortRange;
}

function checkPortRange(name: string, range: PortRange): void {
  const ok =
    Number.isInteger(range.portMin) &&
    Number.isInteger(range.portMax) &&
    range.portMin >= 1 &&
    range.portMin <= range.portMax &&
    range.portMax <= 65535;
  if (!ok) {
    throw new ControlError(
      'EGW_BAD_INPUT',
      `port range ${name} ${range.portMin}-${range.portMax} is not within 1-65535 with min <= max`,
    );
  }
}

function addressOf(group: EgressGroup, nodeInterfaces: readonly NodeInterface[]): IPv4 | null {
  if (group.mode !== 'primary-ip') return group.egressIP;
  return group.interfaceName === null ? null : primaryIPv4(nodeInterfaces, group.interfaceName);
}

export function toNatPolicy(
  state: EgressState,
  nodeName: string,
  nodeInterfaces: readonly NodeInterface[],
  portRanges: PortRanges,
): NatPolicy {
  checkPortRange('nodeOwned', portRanges.nodeOwned);
  checkPortRange('virtual', portRanges.virtual);

  const groupAddress = new Map<string, IPv4>();
  const egress = new Map<number, EgressAddress>();
  for (const group of state.groups) {
    if (group.activeNode !== nodeName) continue;
    const ip = addressOf(group, nodeInterfaces);
    if (ip === null) continue;
    groupAddress.set(group.key, ip);
    const range = group.mode === 'virtual-ip' ? portRanges.virtual : portRanges.nodeOwned;
    const key = parseIPv4(ip);
    const existing = egress.get(key);
    if (existing === undefined || range === portRanges.nodeOwned) {
      egress.set(key, { ip, portMin: range.portMin, portMax: range.portMax });
    }
  }

  const rules: NatRule[] = [];
  for (const rule of state.rules) {
    const ip = groupAddress.get(rule.group);
    if (ip === undefined || rule.sources.length === 0) continue;
    rules.push({
      sources: rule.sources.map((source) => `${source}/32`),
      destinations: [...rule.destinations],
      excluded: withClusterCIDRs(rule.excluded, state.clusterCIDRs),
      egressIP: ip,
    });
  }
  return { egress: [...egress.values()].sort((a, b) => parseIPv4(a.ip) - parseIPv4(b.ip)), rules };
}
