import { compareCodeUnits } from '../election/rendezvous.ts';
import type { IPv4 } from '../model/addresses.ts';
import type { EgressGroup, EgressMode } from '../model/egress-state.ts';
import { ControlError } from './errors.ts';
import type { ChooseActive, NodeInput } from './inputs.ts';
import { suitabilityProblem } from './node-fitness.ts';

/**
 * From a group's description to its EgressGroup: which selected nodes are suitable, and
 * which one is active (the election's choice). Groups are settled in key order so that a
 * chooser which spreads roles sees them in the order the election module documents.
 */

export interface GroupDraft {
  key: string;
  mode: EgressMode;
  egressIP: IPv4 | null;
  interfaceName: string | null;
  /** Selected nodes, sorted by name. */
  candidates: NodeInput[];
  /** Why a node cannot carry this group's address (interface, subnet), or null. */
  addressProblem: (node: NodeInput) => string | null;
}

export interface SettledGroup {
  group: EgressGroup;
  /** Candidates that are not suitable, with the reason, in name order. */
  unsuitable: { node: string; problem: string }[];
}

export function settleGroups(
  drafts: readonly GroupDraft[],
  liveAgents: ReadonlySet<string>,
  chooseActive: ChooseActive,
): Map<string, SettledGroup> {
  const settled = new Map<string, SettledGroup>();
  for (const draft of [...drafts].sort((a, b) => compareCodeUnits(a.key, b.key))) {
    const suitable: string[] = [];
    const unsuitable: SettledGroup['unsuitable'] = [];
    for (const node of draft.candidates) {
      const problem = suitabilityProblem(node, liveAgents) ?? draft.addressProblem(node);
      if (problem === null) suitable.push(node.name);
      else unsuitable.push({ node: node.name, problem });
    }
    const activeNode = chooseActive(draft.key, suitable);
    if (activeNode !== null && !suitable.includes(activeNode)) {
      throw new ControlError(
        'EGW_BAD_ELECTION',
        `the election chose ${activeNode} for ${draft.key}, which is not among its suitable ` +
          `nodes (${suitable.join(', ') || 'none'})`,
      );
    }
    settled.set(draft.key, {
      group: {
        key: draft.key,
        mode: draft.mode,
        egressIP: draft.egressIP,
        interfaceName: draft.interfaceName,
        candidates: draft.candidates.map((n) => n.name),
        suitable,
        activeNode,
      },
      unsuitable,
    });
  }
  return settled;
}

/** "node-c (NotReady), node-d (cordoned)": the unsuitable candidates with their reasons. */
export function describeUnsuitable(settled: SettledGroup): string {
  return settled.unsuitable.map((u) => `${u.node} (${u.problem})`).join(', ');
}

/**
 * The nodes besides the active one, for condition messages:
 * "standby node-b; not suitable: node-c (NotReady)", or "no standby node".
 */
export function describeOthers(settled: SettledGroup): string {
  const { group, unsuitable } = settled;
  const parts: string[] = [];
  const standby = group.suitable.filter((n) => n !== group.activeNode);
  parts.push(standby.length > 0 ? `standby ${standby.join(', ')}` : 'no standby node');
  if (unsuitable.length > 0) parts.push(`not suitable: ${describeUnsuitable(settled)}`);
  return parts.join('; ');
}
