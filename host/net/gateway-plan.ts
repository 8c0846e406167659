import { createHash } from 'node:crypto';
import type { Cidr, IPv4 } from '../model/addresses.ts';
import { CidrError, formatCidr, parseCidr, parseIPv4, subtractCidrs } from '../model/cidr.ts';
import type {
  GatewayPlan,
  NftRuleSpec,
  NftSetSpec,
  NftTableSpec,
  RouteSpec,
  RuleSpec,
  SysctlWant,
} from './desired-state.ts';
import { NetError } from './exec.ts';
import {
  destinationInSet,
  destinationIs,
  destinationNotLocal,
  echoReplyIdentifiers,
  icmpErrorQuoting,
  iifname,
  labelledRule,
  notrack,
  returnVerdict,
  setMarkBits,
  sourceInSet,
  tcpOrUdpDestinationPorts,
} from './gateway-nft-rules.ts';
import type { PortRange } from './port-ranges.ts';
import {
  checkTunnelConfig,
  defaultTunnelConfig,
  markField,
  planTunnel,
  TUNNEL_RULE_OFFSET,
  type TunnelConfig,
  type TunnelFacts,
} from './tunnel-plan.ts';

/**
 * From the node's role to the Linux state it needs: pure, no I/O.
 *
 * Steering, in rule-preference order (B = rulePriority):
 *
 *   B+0  iif TUN goto B+7           the TUN's output (translated packets) skips our rules
 *   B+1  iif UPLINK to IP ipproto tcp|udp dport MIN-MAX lookup T   (local egress, ports
 *                                    < 65535: the kernel rejects 65535 in a rule range)
 *   B+2  fwmark M/M lookup T        whatever nft marked: pod traffic to steer, and the
 *                                    local-egress replies ip rules cannot express (ICMP)
 *   B+3  to VIP/32 lookup T         VIP mode: the VIP is routed, never a local address
 *   B+7  nop                        landing point of the goto
 *   B+8  lookup local               only with local egress: the kernel's rule moved here
 *                                    from 0, so that replies to the node's own IP on the
 *                                    NAT ports reach the TUN before local delivery
 *
 * Table T holds `default dev TUN` and, behind it, `unreachable default`: when the TUN is
 * down its route goes away and steered traffic is refused rather than leaking out
 * untranslated with the pod's address.
 *
 * Pod traffic is chosen by nftables, not by one `ip rule from POD` per pod: the kernel
 * walks rules as a list for every routed packet and each change is one netlink request,
 * while an nft interval set is a tree lookup and a pod joining is one element in one
 * atomic transaction. Sets per policy rule (sources, destinations minus excluded) keep
 * the pairs exact: a pod of policy A is not steered to a destination of policy B only.
 */

export interface SteeringRule {
  /** Stable id (EgressRule.id); names the rule's nft sets. */
  id: string;
  sources: Cidr[];
  destinations: Cidr[];
  /** Never steered (excludedCIDRs and the cluster CIDRs). */
  excluded: Cidr[];
}

/** An egress address that is one of the node's own (primary-IP mode). */
export interface LocalEgress {
  ip: IPv4;
  /** The NAT port (and ICMP identifier) range; reserved from the local stack. */
  portMin: number;
  portMax: number;
}

/** Sources and the destinations a group wins for them (exact: nothing is excluded). */
export interface SteeringPair {
  sources: Cidr[];
  destinations: Cidr[];
}

/** Traffic of this node's pods that a group translates on another node (tunnel-plan.ts). */
export interface TunnelledGroup {
  /** Stable id (EgressGroup.key): keeps its slot (mark value and table) while it exists. */
  id: string;
  /** The active node's node-network address; null while the group has no active node. */
  nextHop: IPv4 | null;
  pairs: SteeringPair[];
}

/**
 * Holds back the pods of this node that the agent does not know yet (tunnel-plan.ts): a
 * new pod's first packets would otherwise leave with the node's address before the agent
 * sees it and knows whether a policy selects it.
 */
export interface PodGuard {
  /** The node's pod CIDRs (Node spec.podCIDRs). */
  podCIDRs: Cidr[];
  /** Every pod of this node the agent knows, by address. */
  known: IPv4[];
  /** Destinations never held: the cluster CIDRs (pods, services, nodes). */
  open: Cidr[];
}

/** The node's end of the steering tunnel. */
export interface TunnelRole {
  /** This node's node-network address: the outer source, and what peers send to. */
  local: IPv4;
  groups: TunnelledGroup[];
  /** null: no guard (switched off, or the node's pod CIDRs are not known). */
  guard: PodGuard | null;
}

/**
 * What the node does now. Empty lists everywhere and no tunnel: no role, remove it all.
 * `steering` brings pods' traffic into this node's TUN (pods of other nodes arriving
 * through the tunnel or routed here, and this node's own pods of groups active here);
 * `tunnel` sends this node's pods' traffic to the groups active elsewhere.
 */
export interface GatewayRole {
  steering: SteeringRule[];
  vips: IPv4[];
  localEgress: LocalEgress[];
  tunnel: TunnelRole | null;
}

/** Node-level settings that do not change with the role. */
export interface GatewayConfig {
  tunName: string;
  /** Where replies arrive from the outside; the TUN's MTU follows it. */
  uplink: string;
  tableId: number;
  /** First preference of our block of rules; see above. */
  rulePriority: number;
  /** Our mark bits: the mark set on packets to steer, and the bits we own. */
  fwmark: number;
  /** rtnetlink protocol stamped on our rules and routes: how we know ours after a restart. */
  routeProtocol: number;
  nftTable: string;
  /** TUN MTU; null = the uplink's. */
  mtu: number | null;
  /** The TUN's only address (desired-state.ts, LinkSpec.address says why it needs one). */
  tunAddress: string;
  tunnel: TunnelConfig;
}

export const defaultGatewayConfig: Omit<GatewayConfig, 'tunName' | 'uplink'> = {
  tableId: 7777,
  rulePriority: 40,
  // One bit, clear of kube-proxy (0x4000, 0x8000), Cilium (0x0f00) and Calico's
  // default low bits; configurable for clusters that use it.
  fwmark: 0x00100000,
  // Unassigned in iproute2's rt_protos.
  routeProtocol: 158,
  nftTable: 'egressgw',
  mtu: null,
  // Link-local (RFC 3927), a /32 with link scope: never chosen as a source for routed
  // traffic, never routed to.
  tunAddress: '169.254.88.1/32',
  tunnel: defaultTunnelConfig,
};

/** What the plan needs to know about the node that the role does not say. */
export interface NodeFacts {
  uplinkMtu: number;
  /** Needed when the role has a tunnel. */
  tunnel?: TunnelFacts;
}

/** Offsets inside our block of rule preferences. */
export const RULE_OFFSET = {
  tunBypass: 0,
  localEgressPorts: 1,
  fwmark: 2,
  vip: 3,
  tunnel: TUNNEL_RULE_OFFSET,
  end: 7,
  movedLocal: 8,
} as const;
const RULE_BLOCK = RULE_OFFSET.movedLocal + 1;
const MAIN_RULE_PRIORITY = 32766;
const RAW_PRIORITY = -300; // NF_IP_PRI_RAW: before conntrack (-200) sees the packet
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
const UNREACHABLE_METRIC = 0xfffffffe;
// fib_rule_port_range_valid(): `end < 0xffff`, so port 65535 has no ip rule form.
const RULE_PORT_MAX = 65534;
const RESERVED_TABLES = new Set([0, 253, 254, 255]); // unspec, default, main, local

function badRole(reason: string): NetError {
  return new NetError('EGW_NET_BAD_ROLE', `gateway network: ${reason}`);
}

function checkInteger(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw badRole(`${name} ${value} is not an integer from ${min} to ${max}`);
  }
}

// dev_valid_name(): at most 15 bytes, not "." or "..", no "/", ":" or whitespace.
const IFNAME = /^[^\s/:]{1,15}$/;
function checkIfname(what: string, name: string): void {
  if (typeof name !== 'string' || !IFNAME.test(name) || name === '.' || name === '..') {
    throw badRole(`${what} ${JSON.stringify(name)} is not a valid interface name`);
  }
}

function checkConfig(config: GatewayConfig): void {
  checkIfname('tunName', config.tunName);
  checkIfname('uplink', config.uplink);
  if (config.tunName === config.uplink) throw badRole('tunName and uplink are the same device');
  checkInteger('tableId', config.tableId, 1, 0xffffffff);
  if (RESERVED_TABLES.has(config.tableId)) {
    throw badRole(`tableId ${config.tableId} is a table the kernel uses (main, local, default)`);
  }
  checkInteger('rulePriority', config.rulePriority, 1, MAIN_RULE_PRIORITY - RULE_BLOCK);
  checkInteger('fwmark', config.fwmark, 1, 0xffffffff);
  checkInteger('routeProtocol', config.routeProtocol, 5, 255); // 0-4 belong to the kernel
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,31}$/.test(config.nftTable)) {
    throw badRole(`nftTable ${JSON.stringify(config.nftTable)} is not a plain identifier`);
  }
  if (config.mtu !== null) checkInteger('mtu', config.mtu, 68, 65535);
  checkTunnelConfig(config.tunnel, tunnelBase(config));
}

function tunnelBase(config: GatewayConfig) {
  return {
    tableId: config.tableId,
    rulePriority: config.rulePriority,
    routeProtocol: config.routeProtocol,
    fwmark: config.fwmark,
    end: config.rulePriority + RULE_OFFSET.end,
  };
}

function cidrList(what: string, list: readonly Cidr[]) {
  try {
    return list.map((text) => parseCidr(text));
  } catch (error) {
    if (error instanceof CidrError) throw badRole(`${what}: ${error.message}`);
    throw error;
  }
}

function address(what: string, text: IPv4): IPv4 {
  try {
    parseIPv4(text);
    return text;
  } catch (error) {
    if (error instanceof CidrError) throw badRole(`${what}: ${error.message}`);
    throw error;
  }
}

/** nft set names from the rule id: stable while the id is, and always a plain identifier. */
function setNames(id: string): { sources: string; destinations: string } {
  const digest = createHash('sha256').update(id).digest('hex').slice(0, 16);
  return { sources: `src_${digest}`, destinations: `dst_${digest}` };
}

function checkRole(role: GatewayRole): void {
  const ids = new Set<string>();
  for (const rule of role.steering) {
    if (typeof rule.id !== 'string' || rule.id === '') throw badRole('a steering rule has no id');
    if (ids.has(rule.id)) throw badRole(`steering rule id ${rule.id} appears twice`);
    ids.add(rule.id);
  }
  const local = new Set<IPv4>();
  for (const egress of role.localEgress) {
    address('local egress', egress.ip);
    checkInteger(`portMin of ${egress.ip}`, egress.portMin, 1, 65535);
    checkInteger(`portMax of ${egress.ip}`, egress.portMax, egress.portMin, 65535);
    if (local.has(egress.ip)) throw badRole(`local egress ${egress.ip} appears twice`);
    local.add(egress.ip);
  }
  for (const vip of role.vips) {
    address('vip', vip);
    if (local.has(vip)) throw badRole(`${vip} is both a VIP and a local egress address`);
  }
}

/** The empty plan: what must remain of us when the node has no role (nothing). */
export function emptyPlan(config: GatewayConfig): GatewayPlan {
  checkConfig(config);
  return {
    link: null,
    tableId: config.tableId,
    routeProtocol: config.routeProtocol,
    routes: [],
    rules: [],
    localRulePriority: 0,
    nftTableName: config.nftTable,
    nft: null,
    sysctls: [],
    tunnel: null,
    tunnelName: config.tunnel.name,
    steerTables: [],
    steerTableRange: {
      min: config.tableId + 1,
      max: config.tableId + markField(config.tunnel.markMask).capacity,
    },
  };
}

/** The node translates something: it needs its TUN (and the uplink's MTU). */
export function translates(role: GatewayRole): boolean {
  return role.steering.length > 0 || role.vips.length > 0 || role.localEgress.length > 0;
}

export function hasRole(role: GatewayRole): boolean {
  return translates(role) || role.tunnel !== null;
}

/** Throws NetError EGW_NET_BAD_ROLE for an invalid config or role. */
export function planGateway(
  config: GatewayConfig,
  role: GatewayRole,
  facts: NodeFacts,
): GatewayPlan {
  const plan = planTranslation(config, role, facts);
  if (role.tunnel === null) return plan;
  if (facts.tunnel === undefined) throw badRole('the tunnel needs its facts (MTU, slots)');
  const tunnel = planTunnel(config.tunnel, tunnelBase(config), role.tunnel, facts.tunnel);
  const rules = [...plan.rules, ...tunnel.rules];
  const end = config.rulePriority + RULE_OFFSET.end;
  if (tunnel.rules.length > 0 && !rules.some((rule) => rule.priority === end)) {
    rules.push({ priority: end, action: { kind: 'nop' }, protocol: config.routeProtocol });
  }
  const nft = plan.nft ?? prerouting(config, []);
  const chain = nft.chains[0]!;
  const sysctls = [...plan.sysctls];
  for (const want of tunnel.sysctls) {
    if (!sysctls.some((have) => have.key === want.key)) sysctls.push(want);
  }
  return {
    ...plan,
    rules: rules.sort((a, b) => a.priority - b.priority),
    nft:
      tunnel.nftRules.length === 0 && plan.nft === null
        ? null
        : {
            ...nft,
            sets: [...nft.sets, ...tunnel.sets],
            chains: [{ ...chain, rules: [...chain.rules, ...tunnel.nftRules] }],
          },
    sysctls,
    tunnel: tunnel.tunnel,
    steerTables: tunnel.tables,
    steerTableRange: tunnel.tableRange,
  };
}

function prerouting(config: GatewayConfig, rules: NftRuleSpec[]): NftTableSpec {
  return {
    family: 'inet',
    name: config.nftTable,
    sets: [],
    chains: [
      {
        name: 'prerouting',
        type: 'filter',
        hook: 'prerouting',
        prio: RAW_PRIORITY,
        policy: 'accept',
        rules,
      },
    ],
  };
}

/** The TUN side: what this node translates. */
function planTranslation(config: GatewayConfig, role: GatewayRole, facts: NodeFacts): GatewayPlan {
  const empty = emptyPlan(config);
  checkRole(role);
  const base = config.rulePriority;
  const { tunName, uplink, tableId, routeProtocol: protocol } = config;
  const lookup = { kind: 'lookup', table: tableId } as const;

  // Steering rules whose pairs are empty once exclusions are removed steer nothing.
  const steering = [...role.steering]
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((rule) => ({
      id: rule.id,
      names: setNames(rule.id),
      sources: subtractCidrs(cidrList(`sources of ${rule.id}`, rule.sources), []).map(formatCidr),
      destinations: subtractCidrs(
        cidrList(`destinations of ${rule.id}`, rule.destinations),
        cidrList(`excluded of ${rule.id}`, rule.excluded),
      ).map(formatCidr),
    }))
    .filter((rule) => rule.sources.length > 0 && rule.destinations.length > 0);
  if (steering.length === 0 && role.vips.length === 0 && role.localEgress.length === 0) {
    return empty;
  }
  const mtu = config.mtu ?? facts.uplinkMtu;
  checkInteger('uplink MTU', mtu, 68, 65535);
  const localEgress = [...role.localEgress].sort((a, b) => parseIPv4(a.ip) - parseIPv4(b.ip));
  const vips = [...new Set(role.vips)].sort((a, b) => parseIPv4(a) - parseIPv4(b));

  const rules: RuleSpec[] = [
    {
      priority: base + RULE_OFFSET.tunBypass,
      iif: tunName,
      action: { kind: 'goto', target: base + RULE_OFFSET.end },
      protocol,
    },
  ];
  for (const egress of localEgress) {
    if (egress.portMin > RULE_PORT_MAX) continue; // only 65535: the fwmark rule carries it
    for (const ipproto of [IPPROTO_TCP, IPPROTO_UDP]) {
      rules.push({
        priority: base + RULE_OFFSET.localEgressPorts,
        iif: uplink,
        to: `${egress.ip}/32`,
        ipproto,
        dport: [egress.portMin, Math.min(egress.portMax, RULE_PORT_MAX)],
        action: lookup,
        protocol,
      });
    }
  }
  rules.push({
    priority: base + RULE_OFFSET.fwmark,
    fwmark: { value: config.fwmark, mask: config.fwmark },
    action: lookup,
    protocol,
  });
  for (const vip of vips) {
    rules.push({ priority: base + RULE_OFFSET.vip, to: `${vip}/32`, action: lookup, protocol });
  }
  rules.push({ priority: base + RULE_OFFSET.end, action: { kind: 'nop' }, protocol });

  const routes: RouteSpec[] = [
    { type: 'unicast', dst: 'default', dev: tunName, metric: 0 },
    { type: 'unreachable', dst: 'default', metric: UNREACHABLE_METRIC },
  ];

  const nftRules: NftRuleSpec[] = [
    // Translated packets the core wrote: never tracked, never marked again.
    labelledRule(`tun output ${tunName}`, [iifname(tunName), notrack, returnVerdict]),
  ];
  const steer = [setMarkBits(config.fwmark), notrack, returnVerdict];
  for (const egress of localEgress) {
    const { ip, portMin, portMax } = egress;
    const toUs = [iifname(uplink), destinationIs(ip)];
    nftRules.push(
      labelledRule(`replies ${ip} tcp/udp ${portMin}-${portMax}`, [
        ...toUs,
        ...tcpOrUdpDestinationPorts(portMin, portMax),
        ...steer,
      ]),
      labelledRule(`replies ${ip} echo ${portMin}-${portMax}`, [
        ...toUs,
        ...echoReplyIdentifiers(portMin, portMax),
        ...steer,
      ]),
      labelledRule(`errors ${ip} about tcp/udp ${portMin}-${portMax}`, [
        ...toUs,
        ...icmpErrorQuoting(ip, portMin, portMax, 'tcp-udp'),
        ...steer,
      ]),
      labelledRule(`errors ${ip} about echo ${portMin}-${portMax}`, [
        ...toUs,
        ...icmpErrorQuoting(ip, portMin, portMax, 'echo-request'),
        ...steer,
      ]),
    );
  }
  const sets: NftSetSpec[] = [];
  if (vips.length > 0) {
    sets.push({ name: 'vips', elements: vips.map((vip) => `${vip}/32`) });
    // Routed to the TUN by the VIP rules above; here only kept out of conntrack.
    nftRules.push(labelledRule('to vips', [destinationInSet('vips'), notrack, returnVerdict]));
  }
  for (const rule of steering) {
    sets.push(
      { name: rule.names.sources, elements: rule.sources },
      { name: rule.names.destinations, elements: rule.destinations },
    );
    nftRules.push(
      labelledRule(`steer ${rule.id}`, [
        sourceInSet(rule.names.sources),
        destinationInSet(rule.names.destinations),
        // In primary-IP mode our rules precede `lookup local`: keep traffic to the
        // node itself local, as it was before.
        destinationNotLocal,
        ...steer,
      ]),
    );
  }

  const conf = (device: string, name: string) => `net/ipv4/conf/${device}/${name}`;
  const sysctls: SysctlWant[] = [
    { key: 'net/ipv4/ip_forward', kind: 'exact', value: '1' },
    { key: conf(tunName, 'forwarding'), kind: 'exact', value: '1' },
    { key: conf(uplink, 'forwarding'), kind: 'exact', value: '1' },
    // Loose: the core's replies to pods arrive on the TUN from outside addresses that
    // route via the uplink, which strict mode drops. The kernel uses max(all, dev), so
    // 2 on the device gives loose whatever `all` says.
    { key: conf(tunName, 'rp_filter'), kind: 'exact', value: '2' },
    // Loose: replies to the egress IP may come in on an uplink that is not the route
    // back to the server (a dedicated egress NIC beside the default route's NIC).
    { key: conf(uplink, 'rp_filter'), kind: 'exact', value: '2' },
  ];
  if (localEgress.length > 0) {
    const ranges: PortRange[] = localEgress.map((egress) => [egress.portMin, egress.portMax]);
    sysctls.push(
      // The core's output carries the node's own address as source: without this the
      // kernel drops it on the TUN as a martian (fib_validate_source).
      { key: conf(tunName, 'accept_local'), kind: 'exact', value: '1' },
      // Local sockets must never be given a port whose replies go to the TUN.
      { key: 'net/ipv4/ip_local_reserved_ports', kind: 'port-ranges', ranges },
    );
  }

  return {
    ...empty,
    link: { name: tunName, mtu, up: true, address: config.tunAddress },
    routes,
    rules,
    localRulePriority: localEgress.length > 0 ? base + RULE_OFFSET.movedLocal : 0,
    nft: { ...prerouting(config, nftRules), sets },
    sysctls,
  };
}
