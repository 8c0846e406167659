import type { Cidr, IPv4 } from '../model/addresses.ts';
import { parseIPv4 } from '../model/cidr.ts';
import type { EgressState } from '../model/egress-state.ts';
import type { GatewayRole, SteeringRule, TunnelledGroup } from '../net/gateway-plan.ts';
import { winningDestinations } from './winning-destinations.ts';

/**
 * What one node does with its own selected pods' traffic (issue #5): for each pod that
 * runs here, the destinations each of its rules wins (winning-destinations.ts), and where
 * that traffic goes: into this node's TUN when the rule's group is active here, through
 * the tunnel to the group's active node otherwise.
 *
 * Pods that several rules select are grouped by the exact set of rules ("classes"), so
 * the resolution runs once per class, not once per pod; in the common case every
 * selected pod of a node is in one class per policy.
 */
export interface SteeringSlice {
  /** This node's pods' pairs that this node translates (groups active here). */
  local: SteeringRule[];
  /** This node's pods' pairs that other nodes translate, per group. */
  tunnelled: TunnelledGroup[];
  /** Every selected pod running here: the gateway side leaves them to this slice. */
  localSources: Set<IPv4>;
}

export function steeringSlice(
  state: EgressState,
  nodeName: string,
  /** The node-network address of a node, or null when it has none. */
  addressOf: (node: string) => IPv4 | null,
  /**
   * Where a group's traffic goes when it has no active node yet: the election's choice,
   * so that a failover needs one re-route, at the moment the old node is found dead, not
   * a second one when the new node's claim arrives. The choice already translates (hot
   * standby). Default: nowhere.
   */
  fallback: (groupKey: string) => string | null = () => null,
): SteeringSlice {
  const activeOf = new Map(
    state.groups.map((group) => [group.key, group.activeNode ?? fallback(group.key)]),
  );
  // Rule indices (precedence order) selecting each local pod.
  const rulesOf = new Map<IPv4, number[]>();
  state.rules.forEach((rule, index) => {
    for (const source of rule.sources) {
      if (rule.placement[source] !== nodeName) continue;
      const list = rulesOf.get(source);
      if (list === undefined) rulesOf.set(source, [index]);
      else list.push(index);
    }
  });
  const classes = new Map<string, { rules: number[]; sources: IPv4[] }>();
  for (const [source, rules] of rulesOf) {
    const key = rules.join(',');
    const entry = classes.get(key);
    if (entry === undefined) classes.set(key, { rules, sources: [source] });
    else entry.sources.push(source);
  }

  const local: SteeringRule[] = [];
  const tunnelled = new Map<string, TunnelledGroup>();
  for (const { rules, sources } of [...classes.values()].sort(byKey)) {
    const won = winningDestinations(rules.map((index) => state.rules[index]!));
    const sourceCidrs: Cidr[] = sources.sort(byAddress).map((ip) => `${ip}/32`);
    rules.forEach((index, position) => {
      const destinations = won[position]!;
      if (destinations.length === 0) return;
      const rule = state.rules[index]!;
      const active = activeOf.get(rule.group) ?? null;
      if (active === nodeName) {
        local.push({
          id: `${rule.id}@${rules.join(',')}`,
          sources: sourceCidrs,
          destinations,
          excluded: [],
        });
        return;
      }
      let group = tunnelled.get(rule.group);
      if (group === undefined) {
        group = { id: rule.group, nextHop: active === null ? null : addressOf(active), pairs: [] };
        tunnelled.set(rule.group, group);
      }
      group.pairs.push({ sources: sourceCidrs, destinations });
    });
  }
  return {
    local,
    tunnelled: [...tunnelled.values()].sort((a, b) => compare(a.id, b.id)),
    localSources: new Set(rulesOf.keys()),
  };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function byKey(a: { rules: number[] }, b: { rules: number[] }): number {
  return compare(a.rules.join(','), b.rules.join(','));
}

function byAddress(a: IPv4, b: IPv4): number {
  return parseIPv4(a) - parseIPv4(b);
}

/**
 * The role of a node that cannot translate (its dataplane does not start): nothing for
 * the TUN, the tunnel kept for its pods' traffic to other nodes, and the pairs it would
 * have translated itself (`local`) refused, as for a gateway without a node, rather than
 * left to leave with the node's address.
 */
export function steeringOnly(role: GatewayRole, local: readonly SteeringRule[]): GatewayRole {
  const refused: TunnelledGroup[] = local.map((rule) => ({
    id: `unserved/${rule.id}`,
    nextHop: null,
    pairs: [{ sources: rule.sources, destinations: rule.destinations }],
  }));
  return {
    steering: [],
    vips: [],
    localEgress: [],
    tunnel:
      role.tunnel === null ? null : { ...role.tunnel, groups: [...role.tunnel.groups, ...refused] },
  };
}
