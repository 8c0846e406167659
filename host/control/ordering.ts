import { compareCodeUnits } from '../election/rendezvous.ts';
import type { EgressRule } from '../model/egress-state.ts';

/**
 * The two orders the compiler depends on, in one place because README.md promises them.
 *
 * 1. Rule precedence, for a pod that several rules select. NatPolicy's resolution decides
 *    first: the rule with the longest destination prefix containing the destination
 *    wins (so a policy for 203.0.113.0/24 beats an Egress, which covers 0.0.0.0/0, for
 *    that subnet). Only on a tie does order matter, and then:
 *      a. Deckhouse EgressGatewayPolicies before Antrea Egresses (the Deckhouse API is
 *         the one that names destinations; an Egress is a catch-all);
 *      b. within one API, by object name in UTF-16 code unit order (locale-free, so
 *         every agent agrees).
 *    Antrea leaves the choice between overlapping Egresses random; this is the
 *    deterministic replacement.
 *
 * 2. Claim order, for egress addresses wanted by two objects and for pool allocation:
 *    older objects first (metadata.creationTimestamp; objects without one, as in a YAML
 *    file, after all that have one), then EgressGateway before Egress, then by name. The
 *    older claimant keeps the address; the newer one gets an IPConflict condition.
 */

const ruleApiRank = (id: string): number => (id.startsWith('EgressGatewayPolicy/') ? 0 : 1);

/** Orders rules by precedence for ties (see 1 above); ids are `Kind/name`. */
export function compareRules(a: EgressRule, b: EgressRule): number {
  return ruleApiRank(a.id) - ruleApiRank(b.id) || compareCodeUnits(a.id, b.id);
}

export interface Claimant {
  kind: 'EgressGateway' | 'Egress';
  name: string;
  /** metadata.creationTimestamp; absent or null in files. */
  creationTimestamp: string | null | undefined;
}

function createdAt(claimant: Claimant): number {
  const time =
    claimant.creationTimestamp == null ? Number.NaN : Date.parse(claimant.creationTimestamp);
  return Number.isNaN(time) ? Number.POSITIVE_INFINITY : time;
}

/** Orders claimants oldest first (see 2 above). */
export function compareClaimants(a: Claimant, b: Claimant): number {
  const ta = createdAt(a);
  const tb = createdAt(b);
  if (ta !== tb) return ta < tb ? -1 : 1;
  const kindRank = (c: Claimant) => (c.kind === 'EgressGateway' ? 0 : 1);
  return kindRank(a) - kindRank(b) || compareCodeUnits(a.name, b.name);
}
