import type { Egress, EgressStatus, ExternalIPPool, ExternalIPPoolStatus } from '../api/antrea.ts';
import type { EgressRule } from '../model/egress-state.ts';
import {
  condition,
  eventsFor,
  notUsedCondition,
  type StatusCondition,
  type StatusEvent,
  validCondition,
} from './conditions.ts';
import {
  type CompileContext,
  placementOf,
  plural,
  sourcesOf,
  withClusterCIDRs,
} from './context.ts';
import type { AddressPlan, EgressAddress } from './egress-addresses.ts';
import type { Entry } from './entries.ts';
import {
  describeOthers,
  describeUnsuitable,
  type GroupDraft,
  type SettledGroup,
} from './groups.ts';
import { nodeHoldsAddress } from './node-fitness.ts';
import { antreaSelectsPod, matchesSelector } from './selector.ts';

/**
 * Egress and ExternalIPPool -> groups, rules and statuses. Each Egress with an address is
 * one group (`Egress/<name>`) and one rule to 0.0.0.0/0: static-ip when it has egressIP and
 * no pool (candidates: the nodes that hold the address), virtual-ip when its address comes
 * from a pool (candidates: the pool's nodeSelector, empty = all nodes).
 */

export const egressKey = (name: string): string => `Egress/${name}`;

/** Antrea Egresses apply to all destinations outside the cluster. */
const allDestinations = ['0.0.0.0/0'];

export function egressDrafts(
  egresses: readonly Entry<Egress>[],
  pools: ReadonlyMap<string, Entry<ExternalIPPool>>,
  plan: AddressPlan,
  context: CompileContext,
): GroupDraft[] {
  const drafts: GroupDraft[] = [];
  for (const entry of egresses) {
    const address = plan.egresses.get(entry.name);
    if (entry.object === null || address === undefined || address.kind === 'none') continue;
    if (address.kind === 'static') {
      drafts.push({
        key: egressKey(entry.name),
        mode: 'static-ip',
        egressIP: address.ip,
        interfaceName: null,
        candidates: context.nodes.filter((node) => nodeHoldsAddress(node, address.ip)),
        addressProblem: () => null,
      });
    } else {
      const selector = pools.get(address.pool)!.object!.spec.nodeSelector ?? {};
      drafts.push({
        key: egressKey(entry.name),
        mode: 'virtual-ip',
        egressIP: address.ip,
        interfaceName: null,
        candidates: context.nodes.filter((node) => matchesSelector(selector, node.labels)),
        addressProblem: () => null,
      });
    }
  }
  return drafts;
}

function allocatedCondition(address: EgressAddress): StatusCondition | null {
  switch (address.kind) {
    case 'static':
      return null; // Antrea: "not applicable for Egresses with empty ExternalIPPool"
    case 'none':
      return condition('IPAllocated', false, address.reason, address.message);
    case 'pool': {
      const how = address.fromSpec
        ? `${address.ip} (spec.egressIP) is reserved in ExternalIPPool ${address.pool}`
        : `${address.ip} allocated from ExternalIPPool ${address.pool}`;
      return condition('IPAllocated', true, 'Allocated', how);
    }
  }
}

function assignedCondition(
  address: Exclude<EgressAddress, { kind: 'none' }>,
  settled: SettledGroup,
): StatusCondition {
  const { group } = settled;
  if (group.activeNode !== null) {
    return condition(
      'IPAssigned',
      true,
      'Assigned',
      `${group.egressIP} is on ${group.activeNode}; ${describeOthers(settled)}`,
    );
  }
  if (group.candidates.length === 0) {
    return address.kind === 'static'
      ? condition(
          'IPAssigned',
          false,
          'NoNodeHoldsIP',
          `no node has ${group.egressIP} among its addresses; configure it on the node that should serve it`,
        )
      : condition(
          'IPAssigned',
          false,
          'NoSuitableNodes',
          `no node matches the nodeSelector of ExternalIPPool ${address.pool}`,
        );
  }
  const count = plural(group.candidates.length, 'candidate node');
  return condition(
    'IPAssigned',
    false,
    'NoSuitableNodes',
    `none of the ${count} for ${group.egressIP} is suitable: ${describeUnsuitable(settled)}`,
  );
}

export interface EgressOutcome {
  name: string;
  status: EgressStatus;
  events: StatusEvent[];
  rule: EgressRule | null;
}

export function egressOutcome(
  entry: Entry<Egress>,
  plan: AddressPlan,
  settled: ReadonlyMap<string, SettledGroup>,
  context: CompileContext,
): EgressOutcome {
  const conditions: StatusCondition[] = [validCondition(entry.issues)];
  const status: EgressStatus = { conditions };
  let rule: EgressRule | null = null;
  const egress = entry.object;
  const address = plan.egresses.get(entry.name);
  if (egress === null || address === undefined) {
    conditions.push(notUsedCondition('IPAssigned'));
  } else {
    const allocated = allocatedCondition(address);
    if (allocated !== null) conditions.push(allocated);
    const group = settled.get(egressKey(entry.name));
    if (group !== undefined && address.kind !== 'none') {
      status.egressIP = group.group.egressIP!;
      if (group.group.activeNode !== null) status.egressNode = group.group.activeNode;
      conditions.push(assignedCondition(address, group));
      const pods = context.pods.filter((p) =>
        antreaSelectsPod(egress.spec.appliedTo, p.pod, context.namespaces),
      );
      rule = {
        id: `Egress/${entry.name}`,
        group: group.group.key,
        sources: sourcesOf(pods),
        placement: placementOf(pods),
        destinations: [...allDestinations],
        excluded: withClusterCIDRs([], context.clusterCIDRs),
      };
    }
  }
  return { name: entry.name, status, events: eventsFor(entry.issues, conditions), rule };
}

export interface PoolOutcome {
  name: string;
  status: ExternalIPPoolStatus;
  events: StatusEvent[];
}

export function poolOutcome(entry: Entry<ExternalIPPool>, plan: AddressPlan): PoolOutcome {
  const conditions: StatusCondition[] = [validCondition(entry.issues)];
  const status: ExternalIPPoolStatus = { conditions };
  const usage = plan.pools.get(entry.name);
  if (usage !== undefined) status.usage = { total: usage.total, used: usage.used };
  return { name: entry.name, status, events: eventsFor(entry.issues, conditions) };
}
