import { createHash } from 'node:crypto';
import type { IPv4 } from '../model/addresses.ts';
import { CidrError, formatCidr, parseCidr, parseIPv4, subtractCidrs } from '../model/cidr.ts';
import type {
  NftRuleSpec,
  NftSetSpec,
  RouteSpec,
  RouteTableSpec,
  RuleSpec,
  SysctlWant,
  TunnelSpec,
} from './desired-state.ts';
import { NetError } from './exec.ts';
import {
  counter,
  destinationInSet,
  destinationNotInSet,
  destinationNotLocal,
  dropVerdict,
  labelledRule,
  notrack,
  returnVerdict,
  setMarkField,
  sourceInSet,
  sourceNotInSet,
} from './gateway-nft-rules.ts';
import type { TunnelRole } from './gateway-plan.ts';
import { tunnelMac } from './tunnel-mac.ts';

/**
 * From the node's tunnel role to its Linux state (pure): how this node's selected pods
 * reach the active gateway node of their group, and how this node receives the traffic
 * other nodes send it.
 *
 * Why VXLAN: it is UDP, so it crosses routers, cloud networks and firewalls that drop
 * other IP protocols (IPIP is not even built into every kernel, including this one), and
 * its outer source port carries the inner flow's hash, so the receiving NIC spreads
 * flows across queues. Learning and flooding are off: every peer is a permanent entry
 * (tunnel-mac.ts gives each node's MAC from its address, so nothing is published).
 *
 * Per tunnelled group, with slot s (1 to the mark field's capacity, kept by TunnelSlots):
 *  - nftables marks the group's (source, destination) pairs with s in the mark field and
 *    `notrack` (a CNI's masquerade would otherwise rewrite the source on the way out);
 *  - `fwmark s/field lookup T+s` at preference B+4;
 *  - table T+s: `default via ACTIVE dev TUNNEL onlink`, and behind it `unreachable
 *    default`, so that traffic is refused, not leaked with the node's address, when the
 *    tunnel device disappears. With no active node the table holds only `unreachable`
 *    (fail-closed), or nothing at all with whenNoGateway 'node-address' (the lookup falls
 *    through to the node's own routes, and the traffic leaves as the node's).
 *  - `iif lo goto B+7` at B+0: the encapsulated packet keeps the inner packet's mark
 *    (iptunnel_xmit scrubs it only across namespaces), so without this its own route
 *    lookup would send it back into the tunnel.
 *
 * The pod guard (TunnelRole.guard), last in the chain, after every rule that steers:
 * traffic from the node's pod CIDRs whose source is no pod the agent knows, to anything
 * outside the cluster CIDRs and the node itself, is dropped. A pod gets its address from
 * the CNI before the agent can see it in the pod's status; without the guard its first
 * packets would leave with the node's address even when a policy selects it (the leak
 * users of other egress gateways report, e.g. Antrea issue 3361). The pod retries (a
 * TCP SYN after 1 s) and by then is known and steered, or not selected and let through.
 * The price: while no agent runs on the node (a crash, before the DaemonSet restarts it),
 * new pods cannot reach the outside; pods it already knew keep working.
 */

export interface TunnelConfig {
  /** The VXLAN device. */
  name: string;
  vni: number;
  port: number;
  /** Its only address; link scope, never routed (LinkSpec.address says why it needs one). */
  address: string;
  /** Contiguous mark bits holding the slot; clear of the gateway's fwmark bit. */
  markMask: number;
  /** null: the underlay's MTU minus VXLAN's 50 bytes of headers. */
  mtu: number | null;
  /** When a group has no active node: refuse its traffic, or let it leave as the node's. */
  whenNoGateway: 'drop' | 'node-address';
}

export const defaultTunnelConfig: TunnelConfig = {
  name: 'egw-vxlan',
  vni: 7788,
  // IANA's VXLAN port. The kernel shares it between devices with different VNIs; a CNI
  // that binds it in metadata mode (Cilium's `external` device) takes every VNI, and then
  // another port must be configured.
  port: 4789,
  address: '169.254.88.2/32',
  markMask: 0x0fe00000,
  mtu: null,
  whenNoGateway: 'drop',
};

/** Outer IPv4 (20) + UDP (8) + VXLAN (8) + inner Ethernet (14). */
export const VXLAN_OVERHEAD = 50;
export const TUNNEL_RULE_OFFSET = 4;
const UNREACHABLE_METRIC = 0xfffffffe;

/** Where the tunnel's rules and tables sit in the gateway's block (gateway-plan.ts). */
export interface TunnelBase {
  tableId: number;
  rulePriority: number;
  routeProtocol: number;
  /** The gateway's own mark bit, which the field must not overlap. */
  fwmark: number;
  /** Preference of the block's `nop` landing point. */
  end: number;
}

export interface TunnelFacts {
  /** MTU of the device that carries the node-network address. */
  underlayMtu: number;
  /** Slot of every tunnelled group (TunnelSlots). */
  slots: ReadonlyMap<string, number>;
}

export interface TunnelPlan {
  tunnel: TunnelSpec;
  tables: RouteTableSpec[];
  tableRange: { min: number; max: number };
  rules: RuleSpec[];
  sets: NftSetSpec[];
  nftRules: NftRuleSpec[];
  sysctls: SysctlWant[];
}

function bad(reason: string): NetError {
  return new NetError('EGW_NET_BAD_ROLE', `steering tunnel: ${reason}`);
}

/** The lowest set bit of the mask and how many values (besides 0) the field holds. */
export function markField(mask: number): { shift: number; capacity: number } {
  if (!Number.isInteger(mask) || mask <= 0 || mask > 0xffffffff) {
    throw bad(`mark mask ${mask} is not a non-zero 32-bit value`);
  }
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  const width = Math.log2((mask >>> shift) + 1);
  if (!Number.isInteger(width)) throw bad(`mark mask 0x${mask.toString(16)} is not contiguous`);
  return { shift, capacity: 2 ** width - 1 };
}

export function checkTunnelConfig(config: TunnelConfig, base: TunnelBase): void {
  // Stricter than the kernel: the name goes into `ip -batch` and `bridge -batch` lines.
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/.test(config.name)) {
    throw bad(`${JSON.stringify(config.name)} is not a usable interface name`);
  }
  if (!Number.isInteger(config.vni) || config.vni < 1 || config.vni > 0xffffff) {
    throw bad(`VNI ${config.vni} is not from 1 to 16777215`);
  }
  if (!Number.isInteger(config.port) || config.port < 1 || config.port > 65535) {
    throw bad(`port ${config.port} is not from 1 to 65535`);
  }
  if (config.mtu !== null && (!Number.isInteger(config.mtu) || config.mtu < 576)) {
    throw bad(`MTU ${config.mtu} is below 576`);
  }
  const { capacity } = markField(config.markMask);
  if ((config.markMask & base.fwmark) !== 0) {
    throw bad(`mark mask 0x${config.markMask.toString(16)} overlaps the gateway mark`);
  }
  // Every table in the range is emptied of whatever we did not put there.
  const [first, last] = [base.tableId + 1, base.tableId + capacity];
  if (last > 0xffffffff) throw bad('the tables run past 2^32');
  if (first <= 255 && last >= 252) {
    throw bad(
      `tables ${first}-${last} include the kernel's (252-255: compat, default, main, local)`,
    );
  }
}

function setNames(id: string): { sources: string; destinations: string } {
  const digest = createHash('sha256').update(id).digest('hex').slice(0, 16);
  return { sources: `tsrc_${digest}`, destinations: `tdst_${digest}` };
}

function checkAddress(what: string, text: string): void {
  try {
    parseIPv4(text);
  } catch (error) {
    if (error instanceof CidrError) throw bad(`${what}: ${error.message}`);
    throw error;
  }
}

function canonical(what: string, list: readonly string[]): string[] {
  try {
    return list.map((text) => formatCidr(parseCidr(text)));
  } catch (error) {
    if (error instanceof CidrError) throw bad(`${what}: ${error.message}`);
    throw error;
  }
}

export function planTunnel(
  config: TunnelConfig,
  base: TunnelBase,
  role: TunnelRole,
  facts: TunnelFacts,
): TunnelPlan {
  checkTunnelConfig(config, base);
  const { shift, capacity } = markField(config.markMask);
  checkAddress('local address', role.local);
  const mtu = config.mtu ?? facts.underlayMtu - VXLAN_OVERHEAD;
  if (mtu < 576) throw bad(`underlay MTU ${facts.underlayMtu} leaves ${mtu} for the tunnel`);

  const protocol = base.routeProtocol;
  const peers = new Map<IPv4, string>();
  const tables: RouteTableSpec[] = [];
  const rules: RuleSpec[] = [];
  const sets: NftSetSpec[] = [];
  const nftRules: NftRuleSpec[] = [];
  const ids = new Set<string>();
  for (const group of [...role.groups].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
    if (ids.has(group.id)) throw bad(`group ${group.id} appears twice`);
    ids.add(group.id);
    const slot = facts.slots.get(group.id);
    if (slot === undefined || !Number.isInteger(slot) || slot < 1 || slot > capacity) {
      throw bad(`group ${group.id} has no slot from 1 to ${capacity}`);
    }
    const table = base.tableId + slot;
    const routes: RouteSpec[] = [];
    if (group.nextHop !== null && group.nextHop !== role.local) {
      checkAddress(`next hop of ${group.id}`, group.nextHop);
      peers.set(group.nextHop, tunnelMac(group.nextHop));
      routes.push(
        {
          type: 'unicast',
          dst: 'default',
          dev: config.name,
          via: group.nextHop,
          onlink: true,
          metric: 0,
        },
        { type: 'unreachable', dst: 'default', metric: UNREACHABLE_METRIC },
      );
    } else if (config.whenNoGateway === 'drop') {
      routes.push({ type: 'unreachable', dst: 'default', metric: 0 });
    }
    tables.push({ id: table, routes });
    const value = (slot << shift) >>> 0;
    rules.push({
      priority: base.rulePriority + TUNNEL_RULE_OFFSET,
      fwmark: { value, mask: config.markMask },
      action: { kind: 'lookup', table },
      protocol,
    });
    group.pairs.forEach((pair, index) => {
      const sources = canonical(`sources of ${group.id}`, pair.sources);
      const destinations = canonical(`destinations of ${group.id}`, pair.destinations);
      if (sources.length === 0 || destinations.length === 0) return;
      const names = setNames(`${group.id}#${index}`);
      sets.push(
        { name: names.sources, elements: sources },
        { name: names.destinations, elements: destinations },
      );
      nftRules.push(
        labelledRule(`tunnel ${group.id} #${index}`, [
          sourceInSet(names.sources),
          destinationInSet(names.destinations),
          destinationNotLocal,
          setMarkField(value, config.markMask),
          notrack,
          returnVerdict,
        ]),
      );
    });
  }
  if (role.guard !== null) {
    const guard = {
      podCIDRs: canonical('pod CIDRs', role.guard.podCIDRs),
      known: canonical('known pods', role.guard.known),
      open: canonical('open destinations', role.guard.open),
    };
    if (guard.podCIDRs.length > 0) {
      sets.push(
        {
          name: 'guard_pods',
          elements: subtractCidrs(guard.podCIDRs.map(parseCidr), []).map(formatCidr),
        },
        {
          name: 'guard_known',
          elements: subtractCidrs(guard.known.map(parseCidr), []).map(formatCidr),
        },
        {
          name: 'guard_open',
          elements: subtractCidrs(guard.open.map(parseCidr), []).map(formatCidr),
        },
      );
      nftRules.push(
        labelledRule('hold unknown pods', [
          sourceInSet('guard_pods'),
          sourceNotInSet('guard_known'),
          destinationNotInSet('guard_open'),
          destinationNotLocal,
          counter,
          dropVerdict,
        ]),
      );
    }
  }
  if (role.groups.length > 0) {
    rules.push({
      priority: base.rulePriority,
      iif: 'lo',
      action: { kind: 'goto', target: base.end },
      protocol,
    });
  }

  const conf = (name: string) => `net/ipv4/conf/${config.name}/${name}`;
  return {
    tunnel: {
      name: config.name,
      vni: config.vni,
      port: config.port,
      local: role.local,
      mtu,
      mac: tunnelMac(role.local),
      address: config.address,
      peers: [...peers.entries()]
        .sort(([a], [b]) => parseIPv4(a) - parseIPv4(b))
        .map(([ip, mac]) => ({ ip, mac })),
    },
    tables,
    tableRange: { min: base.tableId + 1, max: base.tableId + capacity },
    rules,
    sets,
    nftRules,
    sysctls: [
      { key: 'net/ipv4/ip_forward', kind: 'exact', value: '1' },
      // Decapsulated pod traffic is forwarded on (into the TUN) from this device.
      { key: conf('forwarding'), kind: 'exact', value: '1' },
      // Loose: the pods' addresses route back through the cluster network, not the tunnel.
      { key: conf('rp_filter'), kind: 'exact', value: '2' },
    ],
  };
}
