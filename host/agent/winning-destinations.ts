import { PrefixNodeSet, sweepPrefixes } from '../dataplane/policy-table-sweep.ts';
import type { Cidr } from '../model/addresses.ts';
import { formatCidr, parseCidr, rangeToCidrs } from '../model/cidr.ts';

/**
 * For sources that exactly `rules` select (in precedence order), the destinations each
 * rule wins under NatPolicy's resolution (host/model/nat-policy.ts): among the rules that
 * contain the destination and do not exclude it, the longest containing destination prefix
 * wins, ties to the earlier rule. A node that steers its pods to different gateways needs
 * this split ahead of time: the gateway's core resolves again, but only among the packets
 * that reach it.
 *
 * Output: one list per rule, canonical CIDRs in address order, disjoint across rules.
 */

export interface RuleDestinations {
  destinations: readonly Cidr[];
  excluded: readonly Cidr[];
}

const NONE = -1;

interface PrefixRoles {
  /** Indices of the rules that name this prefix as a destination. */
  destinationOf: number[];
  /** Indices of the rules that exclude it. */
  excludedBy: number[];
}

export function winningDestinations(rules: readonly RuleDestinations[]): Cidr[][] {
  const prefixes = new PrefixNodeSet<PrefixRoles>(() => ({ destinationOf: [], excludedBy: [] }));
  rules.forEach((rule, index) => {
    for (const text of rule.destinations) {
      const { network, prefixLength } = parseCidr(text);
      prefixes.at(network, prefixLength).destinationOf.push(index);
    }
    for (const text of rule.excluded) {
      const { network, prefixLength } = parseCidr(text);
      prefixes.at(network, prefixLength).excludedBy.push(index);
    }
  });

  // Per piece: the chain of prefixes containing it, outermost first, so the last
  // destination prefix of a rule in the chain is its longest one here.
  const longest = new Array<number>(rules.length);
  const excluded = new Array<boolean>(rules.length);
  const { starts, values } = sweepPrefixes(prefixes.nodes(), (chain) => {
    longest.fill(NONE);
    excluded.fill(false);
    for (const node of chain) {
      for (const index of node.data.destinationOf) longest[index] = node.prefixLength;
      for (const index of node.data.excludedBy) excluded[index] = true;
    }
    let winner = NONE;
    for (let index = 0; index < rules.length; index++) {
      if (excluded[index] || longest[index] === NONE) continue;
      if (winner === NONE || longest[index]! > longest[winner]!) winner = index;
    }
    return winner;
  });

  const won: Cidr[][] = rules.map(() => []);
  for (let i = 0; i < starts.length; i++) {
    const winner = values[i]!;
    if (winner === NONE) continue;
    const last = i + 1 < starts.length ? starts[i + 1]! - 1 : 0xffffffff;
    for (const cidr of rangeToCidrs(starts[i]!, last)) won[winner]!.push(formatCidr(cidr));
  }
  return won;
}
