import type { Cidr, IPv4 } from './addresses.ts';

/**
 * The cluster-wide egress model that both APIs compile into: which sources, to which
 * destinations, leave through which address on which node. The control plane produces
 * it; each agent takes its node's slice (the core's NatPolicy, routes, VIPs, steering).
 */

/** How the egress address of a group is obtained. */
export type EgressMode =
  /** Deckhouse VirtualIPAddress, Antrea pool IP: a VIP that moves to the active node. */
  | 'virtual-ip'
  /** Deckhouse PrimaryIPFromEgressGatewayNodeInterface: the active node's own IP on an interface. */
  | 'primary-ip'
  /** Antrea Egress with egressIP and no pool: the node that already holds the IP serves it. */
  | 'static-ip';

/**
 * One egress identity with one active node at a time: a Deckhouse EgressGateway, or one
 * allocated/static IP of an Antrea Egress.
 */
export interface EgressGroup {
  /** Stable key, `EgressGateway/<name>` or `Egress/<name>`. */
  key: string;
  mode: EgressMode;
  /** The VIP, pool or static IP; null in primary-ip mode, where each node has its own. */
  egressIP: IPv4 | null;
  /** primary-ip mode: the interface whose primary IPv4 is used. */
  interfaceName: string | null;
  /** Nodes the selector picks, sorted by name. */
  candidates: string[];
  /** Candidates that are Ready, not cordoned and have a live agent, sorted by name. */
  suitable: string[];
  /** The node that translates for this group now, or null when none is suitable. */
  activeNode: string | null;
}

/** Traffic that leaves through a group: the compiled form of a policy or an Egress. */
export interface EgressRule {
  /** `EgressGatewayPolicy/<name>` or `Egress/<name>`. */
  id: string;
  /** EgressGroup.key. */
  group: string;
  /** IPs of the selected pods, sorted. */
  sources: IPv4[];
  /**
   * The node each source runs on: the node that steers its traffic to the group's active
   * node (every selected pod is Running, so it has one).
   */
  placement: Record<IPv4, string>;
  /** destinationCIDRs as written (Antrea: 0.0.0.0/0). */
  destinations: Cidr[];
  /** excludedCIDRs plus the cluster CIDRs. */
  excluded: Cidr[];
}

export interface EgressState {
  groups: EgressGroup[];
  /** In precedence order: where rules overlap, NatPolicy's resolution applies. */
  rules: EgressRule[];
  /** Pod, service and node networks: never translated. */
  clusterCIDRs: Cidr[];
}
