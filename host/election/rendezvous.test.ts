import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isElectionError } from './errors.ts';
import {
  activeFor,
  assignActive,
  type GroupCandidates,
  highestWeight,
  rendezvousWeight,
} from './rendezvous.ts';

const nodeName = fc.constantFrom('gw-a', 'gw-b', 'gw-c', 'gw-d', 'gw-e', 'gw-f', 'gw-g');
const nodeSet = fc.uniqueArray(nodeName, { minLength: 0, maxLength: 7 });
const groupKey = fc
  .tuple(fc.constantFrom('EgressGateway/', 'Egress/'), fc.stringMatching(/^[a-z][a-z0-9-]{0,12}$/))
  .map(([kind, name]) => kind + name);
const groupList = fc.uniqueArray(fc.record({ key: groupKey, suitable: nodeSet }), {
  selector: (group) => group.key,
  maxLength: 24,
});

function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let state = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function countRoles(assignment: Map<string, string | null>, nodes: readonly string[]): number[] {
  const counts = new Map(nodes.map((node) => [node, 0]));
  for (const node of assignment.values()) {
    if (node !== null) counts.set(node, (counts.get(node) ?? 0) + 1);
  }
  return nodes.map((node) => counts.get(node)!);
}

describe('rendezvousWeight', () => {
  it('is the first 64 bits of SHA-256(group NUL node), pinned so every version agrees', () => {
    // sha256("EgressGateway/gw\0node-a"), computed with `printf 'EgressGateway/gw\0node-a' | sha256sum`.
    expect(rendezvousWeight('EgressGateway/gw', 'node-a')).toBe(PINNED_WEIGHT);
  });

  it('differs between nodes and between groups', () => {
    expect(rendezvousWeight('g', 'a')).not.toBe(rendezvousWeight('g', 'b'));
    expect(rendezvousWeight('g1', 'a')).not.toBe(rendezvousWeight('g2', 'a'));
  });
});

describe('activeFor', () => {
  it('returns null without suitable nodes', () => {
    expect(activeFor('EgressGateway/x', [], null)).toBeNull();
    expect(activeFor('EgressGateway/x', [], 'gw-a')).toBeNull();
  });

  it('keeps a previous active node that is still suitable (no failback)', () => {
    fc.assert(
      fc.property(groupKey, nodeSet, nodeName, (key, suitable, previous) => {
        const nodes = suitable.includes(previous) ? suitable : [...suitable, previous];
        expect(activeFor(key, nodes, previous)).toBe(previous);
      }),
    );
  });

  it('otherwise picks the highest weight, whatever the list order', () => {
    fc.assert(
      fc.property(groupKey, nodeSet, fc.integer(), (key, suitable, seed) => {
        const chosen = activeFor(key, suitable, null);
        expect(activeFor(key, shuffled(suitable, seed), 'gone-node')).toBe(chosen);
        for (const node of suitable) {
          if (node !== chosen) {
            expect(rendezvousWeight(key, chosen!) > rendezvousWeight(key, node)).toBe(true);
          }
        }
      }),
    );
  });

  it('agrees with assignActive for a lone group', () => {
    fc.assert(
      fc.property(groupKey, nodeSet, fc.option(nodeName, { nil: null }), (key, suitable, prev) => {
        const alone = assignActive([{ key, suitable }], new Map([[key, prev]]));
        expect(alone.get(key)).toBe(activeFor(key, suitable, prev));
      }),
    );
  });
});

describe('assignActive', () => {
  it('rejects duplicate group keys with a coded error', () => {
    const groups = [
      { key: 'EgressGateway/a', suitable: ['gw-a'] },
      { key: 'EgressGateway/a', suitable: ['gw-b'] },
    ];
    let caught: unknown;
    try {
      assignActive(groups, new Map());
    } catch (error) {
      caught = error;
    }
    expect(isElectionError(caught, 'EGW_ELECTION_CONFIG')).toBe(true);
  });

  it('is deterministic: same answer for any order of groups and of nodes', () => {
    fc.assert(
      fc.property(groupList, fc.integer(), (groups, seed) => {
        const first = assignActive(groups, new Map());
        const permuted = shuffled(groups, seed).map((g, i) => ({
          key: g.key,
          suitable: shuffled(g.suitable, seed + i),
        }));
        expect(assignActive(permuted, new Map())).toEqual(first);
      }),
    );
  });

  it('only ever picks a suitable node, and null exactly when there is none', () => {
    fc.assert(
      fc.property(groupList, (groups) => {
        const result = assignActive(groups, new Map());
        for (const group of groups) {
          const chosen = result.get(group.key);
          if (group.suitable.length === 0) expect(chosen).toBeNull();
          else expect(group.suitable).toContain(chosen);
        }
      }),
    );
  });

  it('spreads k groups on the same n nodes with max - min <= 1 from nothing', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(nodeName, { minLength: 1, maxLength: 7 }),
        fc.uniqueArray(groupKey, { maxLength: 40 }),
        (nodes, keys) => {
          const groups = keys.map((key) => ({ key, suitable: nodes }));
          const counts = countRoles(assignActive(groups, new Map()), nodes);
          expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
        },
      ),
    );
  });

  it('puts two groups on the same two nodes on different nodes', () => {
    const nodes = ['gw-a', 'gw-b'];
    const result = assignActive(
      [
        { key: 'EgressGateway/one', suitable: nodes },
        { key: 'EgressGateway/two', suitable: nodes },
      ],
      new Map(),
    );
    expect(new Set(result.values()).size).toBe(2);
  });

  it('is stable: removing a node moves only the groups that were on it', () => {
    fc.assert(
      fc.property(groupList, nodeName, (groups, removed) => {
        const before = assignActive(groups, new Map());
        const without: GroupCandidates[] = groups.map((g) => ({
          key: g.key,
          suitable: g.suitable.filter((node) => node !== removed),
        }));
        const after = assignActive(without, before);
        for (const group of groups) {
          const was = before.get(group.key);
          if (was !== removed) expect(after.get(group.key)).toBe(was);
          else expect(after.get(group.key)).not.toBe(removed);
        }
      }),
    );
  });

  it('does not fail back: a returning node gets nothing back', () => {
    fc.assert(
      fc.property(groupList, nodeName, (groups, returning) => {
        const without = groups.map((g) => ({
          key: g.key,
          suitable: g.suitable.filter((node) => node !== returning),
        }));
        const during = assignActive(without, new Map());
        const after = assignActive(groups, during);
        for (const group of groups) {
          if (during.get(group.key) !== null) {
            expect(after.get(group.key)).toBe(during.get(group.key));
          }
        }
      }),
    );
  });

  it('moves a group whose previous node left to the least loaded node', () => {
    // gw-a held both groups, then left; gw-b already holds one role, gw-c none.
    const groups = [
      { key: 'EgressGateway/held', suitable: ['gw-b', 'gw-c'] },
      { key: 'EgressGateway/moved', suitable: ['gw-b', 'gw-c'] },
    ];
    const previous = new Map([
      ['EgressGateway/held', 'gw-b'],
      ['EgressGateway/moved', 'gw-a'],
    ]);
    expect(assignActive(groups, previous).get('EgressGateway/moved')).toBe('gw-c');
  });

  it('highestWeight is null for no nodes', () => {
    expect(highestWeight('g', [])).toBeNull();
  });
});

const PINNED_WEIGHT = 0x8a1a4be4a465b492n;

describe('assignActive with roles held elsewhere', () => {
  it('counts roles in groups the caller does not see, so agents with different views agree', () => {
    // G1 on {a, b}, G2 on {b, c}; b holds G1. c sees only G2, b sees both.
    const fromB = assignActive(
      [
        { key: 'G1', suitable: ['a', 'b'] },
        { key: 'G2', suitable: ['b', 'c'] },
      ],
      new Map([['G1', 'b']]),
    );
    const fromC = assignActive(
      [{ key: 'G2', suitable: ['b', 'c'] }],
      new Map(),
      new Map([['b', 1]]),
    );
    expect(fromB.get('G2')).toBe('c');
    expect(fromC.get('G2')).toBe('c');
  });
});
