import type { Issue } from '../api/issue.ts';
import { resourceFor } from '../api/resources.ts';
import { makeContext } from '../control/context.ts';
import { checkGatewayVIPs, checkPolicyGateways } from '../control/deckhouse-compile.ts';
import { planAddresses } from '../control/egress-addresses.ts';
import { type Entry, sortEntries } from '../control/entries.ts';
import type { ClusterInputs } from '../control/inputs.ts';

/**
 * Every issue compile() would give each egress object of a file, including the ones that
 * need the other objects (an unknown gateway or pool, an IP another object holds, a
 * duplicate name), listed per object in the order given so that each can be shown where
 * it is written.
 *
 * These are compile()'s own first three steps (compile.ts: check and sort, cross-object
 * checks, address plan), run here because CompileResult gives statuses, whose messages
 * mix these issues with working conditions, not the issues alone. Steps 4 and 5 add no
 * issues, only conditions about nodes and elections.
 */

function nameOf(raw: unknown): string | null {
  const name = (raw as { metadata?: { name?: unknown } }).metadata?.name;
  return typeof name === 'string' && name !== '' ? name : null;
}

/**
 * The issues of each of `objects`, by index: null for an object that is not of the four
 * egress kinds. Throws ControlError EGW_BAD_INPUT when `inputs` cannot describe a cluster.
 */
export function egressObjectIssues(
  objects: readonly unknown[],
  inputs: ClusterInputs,
): (Issue[] | null)[] {
  const context = makeContext(inputs);
  const entries = sortEntries(objects);
  checkGatewayVIPs(entries.gateways, context);
  checkPolicyGateways(entries.policies, entries.gateways);
  planAddresses(entries);

  const named = new Map<string, Entry<unknown>>();
  const lists: [string, readonly Entry<unknown>[]][] = [
    ['EgressGateway', entries.gateways],
    ['EgressGatewayPolicy', entries.policies],
    ['Egress', entries.egresses],
    ['ExternalIPPool', entries.pools],
  ];
  for (const [kind, list] of lists) {
    for (const entry of list) named.set(`${kind}/${entry.name}`, entry);
  }

  // sortEntries puts an unnamed object and every repeat of a kind and name into
  // `unwritable`, in the order it met them; replaying that order finds each one's issues.
  let unwritable = 0;
  const seen = new Set<string>();
  return objects.map((raw) => {
    if (typeof raw !== 'object' || raw === null) return null;
    const { apiVersion, kind } = raw as { apiVersion?: unknown; kind?: unknown };
    const definition = resourceFor(apiVersion, kind);
    if (definition === null) return null;
    const name = nameOf(raw);
    const key = `${definition.kind}/${name}`;
    if (name === null || seen.has(key)) return entries.unwritable[unwritable++]?.issues ?? [];
    seen.add(key);
    return named.get(key)?.issues ?? [];
  });
}
