import type { Cidr, IPv4 } from '../model/addresses.ts';
import type { NftStatement } from './nft.ts';
import type { PortRange } from './port-ranges.ts';

/**
 * The Linux state a gateway node should have, as computed by gateway-plan.ts and applied
 * by the reconcilers. Plain data, no I/O: each reconciler compares one part of it with
 * what it observes and applies the difference.
 */

/** What a policy rule does when it matches. */
export type RuleAction =
  | { kind: 'lookup'; table: number }
  /** Jump to the rule at `target` (used to let the TUN's own output skip our rules). */
  | { kind: 'goto'; target: number }
  /** Matches and does nothing: the landing point of a goto. */
  | { kind: 'nop' };

/** An IPv4 policy rule (`ip rule`), in the form both the plan and the observer produce. */
export interface RuleSpec {
  priority: number;
  iif?: string;
  /** Canonical "a.b.c.d/n". */
  to?: Cidr;
  ipproto?: number;
  /** Inclusive destination port range. */
  dport?: PortRange;
  fwmark?: { value: number; mask: number };
  action: RuleAction;
  /** rtnetlink protocol: who installed the rule (ours, or 2 = kernel). */
  protocol: number;
  /** Selectors found on an observed rule that host/net never writes; never desired. */
  other?: string[];
}

/** A route in one of our tables. */
export interface RouteSpec {
  type: 'unicast' | 'unreachable';
  /** "default" or canonical "a.b.c.d/n". */
  dst: string;
  dev?: string;
  /** Next hop; with `onlink`, used on `dev` without a connected route to it (a tunnel peer). */
  via?: IPv4;
  onlink?: boolean;
  metric: number;
}

/** One routing table of ours and everything it must hold. */
export interface RouteTableSpec {
  id: number;
  routes: RouteSpec[];
}

/** A peer of the steering tunnel: the node whose address is `ip` has MAC `mac` inside it. */
export interface TunnelPeer {
  ip: IPv4;
  /** Lower-case "0e:77:c0:a8:4d:0b". */
  mac: string;
}

/**
 * The VXLAN device that carries steered pod traffic from a node to the active gateway
 * node of its group. No learning, no flooding: every peer is a permanent forwarding entry
 * (MAC to the peer's node address) plus a permanent neighbour entry (peer address to MAC),
 * so the device only ever sends to the nodes the plan names.
 */
export interface TunnelSpec {
  name: string;
  /** VXLAN network identifier (1 to 16777215). */
  vni: number;
  /** UDP destination port of the outer packets, and the port the device listens on. */
  port: number;
  /** This node's address on the node network: the outer source. */
  local: IPv4;
  mtu: number;
  /** This node's MAC inside the tunnel; peers address it by the same rule (tunnel-mac.ts). */
  mac: string;
  /** A link-scoped /32, for the reverse-path filter (see LinkSpec.address). */
  address: string;
  peers: TunnelPeer[];
}

/** A named nftables set of IPv4 prefixes (type ipv4_addr, flags interval). */
export interface NftSetSpec {
  name: string;
  /** Canonical, disjoint, non-adjacent CIDRs (interval sets reject overlaps). */
  elements: Cidr[];
}

/** A rule identified by its comment, which ends in a digest of its statements. */
export interface NftRuleSpec {
  comment: string;
  expr: NftStatement[];
}

export interface NftChainSpec {
  name: string;
  type: 'filter';
  hook: 'prerouting';
  prio: number;
  policy: 'accept';
  rules: NftRuleSpec[];
}

export interface NftTableSpec {
  family: 'inet';
  name: string;
  sets: NftSetSpec[];
  chains: NftChainSpec[];
}

/**
 * A kernel setting under /proc/sys, by its slash path ("net/ipv4/conf/eth0.100/rp_filter":
 * slashes, because interface names may contain dots).
 */
export type SysctlWant =
  | { key: string; kind: 'exact'; value: string }
  /** A port-range list that must include these ports (others' entries are kept). */
  | { key: string; kind: 'port-ranges'; ranges: PortRange[] };

export interface LinkSpec {
  name: string;
  mtu: number;
  up: true;
  /**
   * The one address the TUN holds, a link-scoped /32 nobody routes to. Not for traffic:
   * the kernel's reverse-path check (fib_validate_source) drops every packet that
   * arrives on an interface without any address unless its source routes back through
   * that same interface, which is never true of the replies the core writes (their
   * source is a remote server). With an address, loose rp_filter passes them whatever
   * net.ipv4.conf.all.rp_filter says.
   */
  address: string;
}

export interface GatewayPlan {
  /** The TUN; null when the node has no role (nothing of ours may remain). */
  link: LinkSpec | null;
  tableId: number;
  routeProtocol: number;
  routes: RouteSpec[];
  /** Our rules (protocol = routeProtocol), without the local rule. */
  rules: RuleSpec[];
  /** Where the `lookup local` rule must be: 0 (the kernel's place) unless moved. */
  localRulePriority: number;
  /** The nftables table name, kept even when `nft` is null so teardown knows it. */
  nftTableName: string;
  nft: NftTableSpec | null;
  /** In the order to apply; restored in reverse. */
  sysctls: SysctlWant[];
  /** The steering tunnel; null when the node steers nothing and receives nothing. */
  tunnel: TunnelSpec | null;
  /** The tunnel device's name, kept even when `tunnel` is null so teardown knows it. */
  tunnelName: string;
  /** The tunnelled groups' tables: every table in the range is ours. */
  steerTables: RouteTableSpec[];
  steerTableRange: { min: number; max: number };
}
