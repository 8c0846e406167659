import type { Egress, ExternalIPPool } from '../api/antrea.ts';
import type { EgressGateway, EgressGatewayPolicy } from '../api/deckhouse.ts';
import { error, hasErrors, type Issue } from '../api/issue.ts';
import type { ResourceKind } from '../api/resources.ts';
import { validateObject } from '../api/validate.ts';
import { compareCodeUnits } from '../election/rendezvous.ts';

/**
 * The objects compile() was given, checked and sorted by kind. An entry keeps its issues
 * as the compiler adds cross-object ones (unknown gateway, IP conflict); `object` is null
 * from the first error on, which is what "not used" means everywhere downstream.
 */

export interface Entry<T> {
  name: string;
  /** The typed object while it is usable; null once any issue is an error. */
  object: T | null;
  /** metadata.generation of the object as given (also when it is invalid). */
  generation: number | undefined;
  issues: Issue[];
}

export interface Entries {
  gateways: Entry<EgressGateway>[];
  policies: Entry<EgressGatewayPolicy>[];
  egresses: Entry<Egress>[];
  pools: Entry<ExternalIPPool>[];
  /**
   * Objects of our kinds that get no status: no usable metadata.name, or a second object
   * of one kind and name (only a file can hold one). The file loader prints these.
   */
  unwritable: { kind: ResourceKind; name: string | null; issues: Issue[] }[];
  /** How many objects were not of the four kinds (ignored). */
  ignored: number;
}

/** Adds an error: from now on the entry is not used. */
export function reject(entry: { issues: Issue[]; object: unknown }, issue: Issue): void {
  entry.issues.push(issue);
  entry.object = null;
}

function generationOf(raw: unknown): number | undefined {
  const generation = (raw as { metadata?: { generation?: unknown } }).metadata?.generation;
  return typeof generation === 'number' ? generation : undefined;
}

export function sortEntries(objects: readonly unknown[]): Entries {
  const entries: Entries = {
    gateways: [],
    policies: [],
    egresses: [],
    pools: [],
    unwritable: [],
    ignored: 0,
  };
  const lists: Record<ResourceKind, Entry<unknown>[]> = {
    EgressGateway: entries.gateways,
    EgressGatewayPolicy: entries.policies,
    Egress: entries.egresses,
    ExternalIPPool: entries.pools,
  };
  for (const raw of objects) {
    const result = validateObject(raw);
    if (result === null) {
      entries.ignored++;
      continue;
    }
    if (result.name === null) {
      entries.unwritable.push({ kind: result.kind, name: null, issues: result.issues });
      continue;
    }
    const list = lists[result.kind];
    const entry: Entry<unknown> = {
      name: result.name,
      object: result.typed?.object ?? null,
      generation: generationOf(raw),
      issues: [...result.issues],
    };
    // Only a file can hold two objects of one kind and name (the API server cannot);
    // the first one is used, so adding a copy further down never changes behaviour.
    if (list.some((other) => other.name === result.name)) {
      reject(
        entry,
        error(
          'DuplicateName',
          `another ${result.kind} named ${result.name} comes first; this one is ignored`,
        ),
      );
      entries.unwritable.push({ kind: result.kind, name: result.name, issues: entry.issues });
      continue;
    }
    if (hasErrors(entry.issues)) entry.object = null;
    list.push(entry);
  }
  for (const list of Object.values(lists)) list.sort((a, b) => compareCodeUnits(a.name, b.name));
  return entries;
}
