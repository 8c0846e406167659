import type { Cidr, IPv4 } from '../model/addresses.ts';

/**
 * What the compiler reads from the cluster besides the egress objects themselves. The
 * k8s/ informers (or the YAML-file loader) fill it; everything here is plain data, so
 * compile() is a pure function of (objects, inputs) and replaying the same view on
 * another agent gives the same answer.
 */

export interface NodeInterface {
  name: string;
  /** IPv4 addresses with their prefix length, "172.18.18.10/24", primary address first. */
  addresses: string[];
}

export interface NodeInput {
  name: string;
  labels: Record<string, string>;
  /** The node's Ready condition is True. */
  ready: boolean;
  /** spec.unschedulable: the node is cordoned. */
  unschedulable: boolean;
  /** status.addresses (InternalIP, ExternalIP) that are IPv4. */
  addresses: IPv4[];
  /**
   * The node's interfaces as its agent reports them, or null when not known (yet). Needed
   * for the primary-ip address, the VIP subnet check and finding static egress IPs.
   */
  interfaces: NodeInterface[] | null;
  /** spec.podCIDRs (IPv4): the addresses this node gives its pods; empty when not set. */
  podCIDRs: Cidr[];
}

export interface PodInput {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  /** status.podIP; null before the pod has one. */
  ip: IPv4 | null;
  nodeName: string | null;
  /** status.phase: Pending, Running, Succeeded, Failed, Unknown. */
  phase: string;
  /**
   * spec.hostNetwork: such a pod has its node's IP, and translating that address would
   * translate the node's own traffic, so it is never selected.
   */
  hostNetwork: boolean /** The pod's Ready condition is True (for the egressgw agents' own pods: agent ready). */;
  ready: boolean;
}

export interface NamespaceInput {
  name: string;
  labels: Record<string, string>;
}

/**
 * The election's choice for one group, given its suitable nodes (sorted by name). It must
 * return one of them or null. compile() calls it once per group in key order (sorted by
 * UTF-16 code units), so a chooser that spreads roles may count them as it goes.
 */
export type ChooseActive = (groupKey: string, suitable: readonly string[]) => string | null;

export interface ClusterInputs {
  nodes: NodeInput[];
  pods: PodInput[];
  namespaces: NamespaceInput[];
  /** Pod, service and node networks: never translated. */
  clusterCIDRs: Cidr[];
  /** Names of the nodes whose egressgw agent is ready. */
  liveAgents: ReadonlySet<string>;
  chooseActive: ChooseActive;
}
