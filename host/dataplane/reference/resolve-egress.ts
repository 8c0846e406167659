import type { Cidr } from '../../model/addresses.ts';
import { cidrContains, parseCidr, parseIPv4 } from '../../model/cidr.ts';
import type { NatPolicy, NatRule } from '../../model/nat-policy.ts';
import { PolicyTableError } from '../policy-table-errors.ts';

/**
 * The oracle for rule resolution: host/model/nat-policy.ts read literally, one rule and
 * one prefix at a time, reparsing everything on every call. Slow on purpose; the
 * compiled policy table (policy-table.ts) and the core are tested against it.
 */

/** Length of the longest prefix in `cidrs` that contains `address`, or -1. */
function longestContaining(cidrs: readonly Cidr[], address: number): number {
  let longest = -1;
  for (const text of cidrs) {
    const cidr = parseCidr(text);
    if (cidrContains(cidr, address) && cidr.prefixLength > longest) longest = cidr.prefixLength;
  }
  return longest;
}

function isCandidate(rule: NatRule, src: number, dst: number): boolean {
  return (
    longestContaining(rule.sources, src) >= 0 &&
    longestContaining(rule.destinations, dst) >= 0 &&
    longestContaining(rule.excluded, dst) < 0
  );
}

/**
 * Index into `policy.egress` of the address that (src, dst) leaves through, or -1 when
 * no rule translates it. Addresses are u32 in host order.
 */
export function resolveEgress(policy: NatPolicy, src: number, dst: number): number {
  let winner: NatRule | undefined;
  let winnerLength = -1;
  for (const rule of policy.rules) {
    if (!isCandidate(rule, src, dst)) continue;
    const length = longestContaining(rule.destinations, dst);
    // Strictly longer: on a tie the rule that comes first keeps the packet.
    if (length > winnerLength) {
      winner = rule;
      winnerLength = length;
    }
  }
  if (winner === undefined) return -1;
  const egressIP = parseIPv4(winner.egressIP);
  const index = policy.egress.findIndex((egress) => parseIPv4(egress.ip) === egressIP);
  if (index < 0) {
    throw new PolicyTableError(
      'EGW_UNKNOWN_EGRESS',
      `rule egressIP ${winner.egressIP} is not one of the policy's egress addresses`,
    );
  }
  return index;
}
