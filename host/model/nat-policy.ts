import type { Cidr, IPv4 } from './addresses.ts';

/**
 * What one gateway node's packet core must do: the node-local slice of the cluster's
 * egress model, in the form the core's tables are compiled from.
 *
 * Resolution for a packet (src, dst), the single definition that the compiled tables,
 * the reference model and the docs all follow:
 *  1. candidate rules: every rule whose `sources` contain src, whose `destinations`
 *     contain dst, and whose `excluded` do not contain dst;
 *  2. the winner is the candidate whose longest destination prefix containing dst is
 *     the longest (longest-prefix match across rules);
 *  3. ties go to the rule that comes first in `rules` (the host orders rules by a
 *     documented precedence before handing them over);
 *  4. no candidate: the packet is not translated (the core drops it as `no_policy`).
 * Cluster CIDRs are folded into every rule's `excluded` by the host.
 */
export interface NatRule {
  /** Source prefixes; selected pods appear as /32. */
  sources: Cidr[];
  destinations: Cidr[];
  excluded: Cidr[];
  /** Must be one of the policy's `egress` addresses. */
  egressIP: IPv4;
}

/** An address the node translates to, with the ports it may hand out on it. */
export interface EgressAddress {
  ip: IPv4;
  /** Inclusive port range for SNAT (and ICMP echo identifiers). */
  portMin: number;
  portMax: number;
}

export interface NatPolicy {
  egress: EgressAddress[];
  rules: NatRule[];
}
