import { compareCodeUnits } from '../election/rendezvous.ts';
import type { Cidr, IPv4 } from '../model/addresses.ts';
import { CidrError, formatIPv4, parseCidr, parseIPv4 } from '../model/cidr.ts';
import { ControlError } from './errors.ts';
import type { ClusterInputs, NamespaceInput, NodeInput, PodInput } from './inputs.ts';

/**
 * The cluster view compile() works from, indexed once: nodes by name, namespaces by name,
 * and the pods that can be selected at all.
 */

export interface SelectablePod {
  pod: PodInput;
  /** The pod IP as a u32, for sorting sources numerically. */
  address: number;
}

export interface CompileContext {
  inputs: ClusterInputs;
  /** Sorted by name. */
  nodes: NodeInput[];
  namespaces: Map<string, NamespaceInput>;
  /** Pods with an IPv4 address, not finished, not on the host network. */
  pods: SelectablePod[];
  clusterCIDRs: Cidr[];
}

function selectable(pod: PodInput): SelectablePod | null {
  // Pending pods with an address count: their init containers already send traffic, and
  // leaving them out would let it leak with the node's address until they run.
  if (pod.phase === 'Succeeded' || pod.phase === 'Failed') return null;
  if (pod.ip === null || pod.hostNetwork) return null;
  try {
    return { pod, address: parseIPv4(pod.ip) };
  } catch {
    return null; // an IPv6 pod IP (IPv6-first dual stack): not ours to translate
  }
}

/** Throws ControlError EGW_BAD_INPUT for inputs that cannot describe a cluster. */
export function makeContext(inputs: ClusterInputs): CompileContext {
  const nodes = [...inputs.nodes].sort((a, b) => compareCodeUnits(a.name, b.name));
  for (let i = 1; i < nodes.length; i++) {
    if (nodes[i]!.name === nodes[i - 1]!.name) {
      throw new ControlError('EGW_BAD_INPUT', `two nodes are named ${nodes[i]!.name}`);
    }
  }
  for (const cidr of inputs.clusterCIDRs) {
    try {
      parseCidr(cidr);
    } catch (cause) {
      if (cause instanceof CidrError) {
        throw new ControlError('EGW_BAD_INPUT', `cluster CIDRs: ${cause.message}`);
      }
      throw cause;
    }
  }
  return {
    inputs,
    nodes,
    namespaces: new Map(inputs.namespaces.map((ns) => [ns.name, ns])),
    pods: inputs.pods.map(selectable).filter((p): p is SelectablePod => p !== null),
    clusterCIDRs: [...new Set(inputs.clusterCIDRs)],
  };
}

/** The IPs of the pods, sorted numerically, each once. */
export function sourcesOf(pods: readonly SelectablePod[]): IPv4[] {
  const addresses = [...new Set(pods.map((p) => p.address))].sort((a, b) => a - b);
  return addresses.map(formatIPv4);
}

/** Where each pod runs, by IP; a pod without a node (not scheduled) has no entry. */
export function placementOf(pods: readonly SelectablePod[]): Record<IPv4, string> {
  const placement: Record<IPv4, string> = {};
  for (const { pod } of pods) {
    if (pod.ip !== null && pod.nodeName !== null) placement[pod.ip] = pod.nodeName;
  }
  return placement;
}

/** `excluded` followed by the cluster CIDRs not already in it. */
export function withClusterCIDRs(excluded: readonly Cidr[], clusterCIDRs: readonly Cidr[]): Cidr[] {
  return [...new Set([...excluded, ...clusterCIDRs])];
}

export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
