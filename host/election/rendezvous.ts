import { createHash } from 'node:crypto';
import { ElectionError } from './errors.ts';

/**
 * The shared choice of the active node per group: rendezvous (highest-random-weight)
 * hashing, with no failback and a deterministic spreading step.
 *
 * Invariants, which every agent relies on to reach the same answer from the same view:
 *  - `assignActive` is a pure function of (groups with their suitable nodes, previous
 *    assignment); input order does not matter (groups are taken in sorted key order,
 *    node lists are treated as sets);
 *  - a group whose previous active node is still suitable keeps it (no failback, no
 *    rebalancing of healthy assignments);
 *  - every other group goes to the suitable node with the fewest active roles (held in
 *    other groups, or assigned so far in this round), ties broken by the highest
 *    rendezvous weight, then by node name;
 *  - a group with no suitable node gets null.
 * Starting from nothing, k groups on the same n nodes therefore end up with at most one
 * role of difference between the busiest and the idlest node; plain rendezvous hashing
 * only gets there statistically.
 */

/**
 * The rendezvous weight of a node for a group: the first 64 bits of
 * SHA-256(groupKey NUL node), big-endian. SHA-256 rather than a faster hash because the
 * value must be identical on every agent and every version, and a few thousand hashes
 * per election round cost well under a millisecond.
 */
export function rendezvousWeight(groupKey: string, node: string): bigint {
  const digest = createHash('sha256').update(groupKey).update('\0').update(node).digest();
  return digest.readBigUInt64BE(0);
}

/** Orders strings by UTF-16 code units: the same on every agent, whatever its locale. */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** True when `a` beats `b` for `groupKey`: higher weight, then the smaller name. */
function heavier(groupKey: string, a: string, b: string): boolean {
  const wa = rendezvousWeight(groupKey, a);
  const wb = rendezvousWeight(groupKey, b);
  return wa !== wb ? wa > wb : a < b;
}

/** The suitable node with the highest rendezvous weight for the group, or null if none. */
export function highestWeight(groupKey: string, nodes: Iterable<string>): string | null {
  let best: string | null = null;
  for (const node of nodes) {
    if (best === null || heavier(groupKey, node, best)) best = node;
  }
  return best;
}

/**
 * One group on its own: the previous active node if it is still suitable, otherwise the
 * suitable node with the highest rendezvous weight. `assignActive` gives the same answer
 * for a lone group; with several groups it also spreads them.
 */
export function activeFor(
  groupKey: string,
  suitable: readonly string[],
  previousActive: string | null,
): string | null {
  if (previousActive !== null && suitable.includes(previousActive)) return previousActive;
  return highestWeight(groupKey, suitable);
}

export interface GroupCandidates {
  /** EgressGroup.key. */
  key: string;
  /** Nodes that may hold the active role now. */
  suitable: readonly string[];
}

/**
 * The active node of every group. `previous` maps group keys to the node that holds the
 * role now (groups without one may be absent or null).
 */
export function assignActive(
  groups: readonly GroupCandidates[],
  previous: ReadonlyMap<string, string | null>,
  /**
   * Roles nodes hold in groups outside `groups`. Agents see different sets of groups
   * (those they are candidates of): without this, a node that holds a group another
   * agent does not see would look idle to that agent, and the two would each name the
   * other for a shared pending group, which then nobody takes.
   */
  otherLoad: ReadonlyMap<string, number> = new Map(),
): Map<string, string | null> {
  const sorted = [...groups].sort((a, b) => compareCodeUnits(a.key, b.key));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.key === sorted[i - 1]!.key) {
      throw new ElectionError('EGW_ELECTION_CONFIG', `duplicate group key ${sorted[i]!.key}`);
    }
  }

  const result = new Map<string, string | null>();
  const load = new Map<string, number>(otherLoad);
  const addLoad = (node: string): void => {
    load.set(node, (load.get(node) ?? 0) + 1);
  };

  // Pass 1: healthy assignments stay where they are, and count towards the load.
  const pending: GroupCandidates[] = [];
  for (const group of sorted) {
    const held = previous.get(group.key) ?? null;
    if (held !== null && group.suitable.includes(held)) {
      result.set(group.key, held);
      addLoad(held);
    } else {
      pending.push(group);
    }
  }

  // Pass 2: the rest, in key order, to the least loaded suitable node.
  for (const group of pending) {
    let best: string | null = null;
    let bestLoad = 0;
    for (const node of group.suitable) {
      const nodeLoad = load.get(node) ?? 0;
      if (
        best === null ||
        nodeLoad < bestLoad ||
        (nodeLoad === bestLoad && heavier(group.key, node, best))
      ) {
        best = node;
        bestLoad = nodeLoad;
      }
    }
    result.set(group.key, best);
    if (best !== null) addLoad(best);
  }
  return result;
}
