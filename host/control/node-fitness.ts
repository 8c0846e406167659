import type { IPv4 } from '../model/addresses.ts';
import { cidrContains, parseCidr, parseIPv4 } from '../model/cidr.ts';
import type { NodeInput, NodeInterface } from './inputs.ts';

/**
 * Whether a node may hold a group's active role, and if not, why: the words here end up
 * in condition messages ("node-b: NotReady"), so they are written for people.
 *
 * Suitability (DESIGN.md, the seeds' "node suitability"): Ready, not cordoned, egressgw
 * agent ready. On top of that a node must be able to carry the group's address: in
 * primary-ip mode the interface must exist and have an IPv4 address; in VIP mode the VIP
 * must lie in the subnet of one of its interfaces (the seed: the public interface takes
 * the VIP as a secondary address). Nodes whose interfaces are not known yet are given the
 * benefit of the doubt: the agent re-checks before it takes the role.
 */

export function suitabilityProblem(
  node: NodeInput,
  liveAgents: ReadonlySet<string>,
): string | null {
  if (!node.ready) return 'NotReady';
  if (node.unschedulable) return 'cordoned';
  if (!liveAgents.has(node.name)) return 'egressgw agent not ready';
  return null;
}

interface InterfaceAddress {
  interfaceName: string;
  /** The address itself as text, and its prefix. */
  ip: IPv4;
  address: number;
  prefix: ReturnType<typeof parseCidr>;
}

/** The parseable IPv4 addresses of the interfaces, in the order given; bad entries are skipped. */
function interfaceAddresses(interfaces: readonly NodeInterface[]): InterfaceAddress[] {
  const result: InterfaceAddress[] = [];
  for (const nic of interfaces) {
    for (const text of nic.addresses) {
      try {
        const ip = text.split('/')[0]!;
        result.push({
          interfaceName: nic.name,
          ip,
          address: parseIPv4(ip),
          prefix: parseCidr(text),
        });
      } catch {
        // An address the agent reported in a form we cannot read (IPv6, garbage) cannot
        // carry an IPv4 egress address; ignoring it is the right answer, not an error.
      }
    }
  }
  return result;
}

/** The primary (first) IPv4 address of the named interface, or null. */
export function primaryIPv4(interfaces: readonly NodeInterface[], name: string): IPv4 | null {
  return interfaceAddresses(interfaces).find((a) => a.interfaceName === name)?.ip ?? null;
}

/** Why the node cannot use `interfaceName` for primary-ip mode, or null when it can. */
export function primaryIPProblem(node: NodeInput, interfaceName: string): string | null {
  if (node.interfaces === null) return null;
  if (!node.interfaces.some((nic) => nic.name === interfaceName)) {
    return `no interface ${interfaceName}`;
  }
  return primaryIPv4(node.interfaces, interfaceName) === null
    ? `no IPv4 address on ${interfaceName}`
    : null;
}

/** Why the VIP cannot be placed on this node, or null when it can (or nothing is known). */
export function vipProblem(node: NodeInput, vip: IPv4): string | null {
  if (node.interfaces === null) return null;
  const address = parseIPv4(vip);
  const addresses = interfaceAddresses(node.interfaces);
  if (addresses.some((a) => a.address === address)) {
    return `${vip} is already the address of one of its interfaces`;
  }
  if (addresses.some((a) => a.prefix.prefixLength < 32 && cidrContains(a.prefix, address))) {
    return null;
  }
  const seen = addresses.map((a) => `${a.interfaceName} ${a.ip}/${a.prefix.prefixLength}`);
  return `${vip} is outside the subnets of its interfaces (${seen.join(', ') || 'no IPv4 addresses'})`;
}

/** Whether the node has `ip` as one of its addresses (status.addresses or an interface). */
export function nodeHoldsAddress(node: NodeInput, ip: IPv4): boolean {
  if (node.addresses.includes(ip)) return true;
  return node.interfaces !== null && interfaceAddresses(node.interfaces).some((a) => a.ip === ip);
}
