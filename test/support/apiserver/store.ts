/**
 * The object store: objects per resource, one resourceVersion counter for all of them
 * (as etcd's revision), and a bounded history of changes that watches replay from.
 *
 * Invariants:
 *  - every stored object's metadata.resourceVersion is the revision of its last write;
 *  - `history` holds every change with revision > `compactedRevision`, in order; a watch
 *    from a revision below `compactedRevision` cannot be served (410 Gone);
 *  - objects handed out are copies: callers never alias stored state.
 */
import { clone } from './patch.ts';

export type Obj = Record<string, unknown>;
export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface Change {
  revision: number;
  /** The storage key of the resource, e.g. `leases.coordination.k8s.io`. */
  resource: string;
  type: ChangeType;
  /** The object after the change (for DELETED: the last state, with the delete revision). */
  object: Obj;
  /** The object before the change; undefined for ADDED. */
  previous: Obj | undefined;
}

export function metaOf(obj: Obj): Obj {
  if (obj['metadata'] === null || typeof obj['metadata'] !== 'object') obj['metadata'] = {};
  return obj['metadata'] as Obj;
}

function keyOf(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

export class ObjectStore {
  private revision = 0;
  private compacted = 0;
  private readonly history: Change[] = [];
  private readonly byResource = new Map<string, Map<string, Obj>>();
  private readonly listeners = new Set<(c: Change) => void>();
  private readonly historyLimit: number;

  constructor(historyLimit = 10_000) {
    this.historyLimit = historyLimit;
  }

  get currentRevision(): number {
    return this.revision;
  }

  get compactedRevision(): number {
    return this.compacted;
  }

  onChange(listener: (c: Change) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private objects(resource: string): Map<string, Obj> {
    let m = this.byResource.get(resource);
    if (!m) {
      m = new Map();
      this.byResource.set(resource, m);
    }
    return m;
  }

  get(resource: string, namespace: string, name: string): Obj | undefined {
    const o = this.objects(resource).get(keyOf(namespace, name));
    return o === undefined ? undefined : clone(o);
  }

  /** All objects of a resource (in one namespace when given), sorted by namespace/name. */
  list(resource: string, namespace?: string): { items: Obj[]; revision: number } {
    const items: Obj[] = [];
    const keys = [...this.objects(resource).keys()].sort();
    for (const k of keys) {
      if (namespace !== undefined && !k.startsWith(`${namespace}/`)) continue;
      items.push(clone(this.objects(resource).get(k)!));
    }
    return { items, revision: this.revision };
  }

  /**
   * Writes `obj` (created when absent) under a new revision and records the change.
   * Returns the stored copy.
   */
  put(resource: string, obj: Obj): Obj {
    const meta = metaOf(obj);
    const key = keyOf(String(meta['namespace'] ?? ''), String(meta['name']));
    const previous = this.objects(resource).get(key);
    this.revision++;
    const stored = clone(obj);
    metaOf(stored)['resourceVersion'] = String(this.revision);
    this.objects(resource).set(key, stored);
    this.record(resource, previous === undefined ? 'ADDED' : 'MODIFIED', stored, previous);
    return clone(stored);
  }

  remove(resource: string, namespace: string, name: string): Obj | undefined {
    const key = keyOf(namespace, name);
    const previous = this.objects(resource).get(key);
    if (previous === undefined) return undefined;
    this.objects(resource).delete(key);
    this.revision++;
    const last = clone(previous);
    metaOf(last)['resourceVersion'] = String(this.revision);
    this.record(resource, 'DELETED', last, previous);
    return clone(last);
  }

  private record(resource: string, type: ChangeType, object: Obj, previous: Obj | undefined): void {
    const change: Change = { revision: this.revision, resource, type, object, previous };
    this.history.push(change);
    if (this.history.length > this.historyLimit) {
      const dropped = this.history.shift()!;
      this.compacted = dropped.revision;
    }
    for (const l of this.listeners) l(change);
  }

  /**
   * Changes of `resource` after `revision`, or 'expired' when some of them were already
   * compacted away.
   */
  changesSince(resource: string, revision: number): Change[] | 'expired' {
    if (revision < this.compacted) return 'expired';
    return this.history.filter((c) => c.revision > revision && c.resource === resource);
  }

  /** Forgets all history: watches from any revision before now get 410 Gone. */
  compact(): void {
    this.history.length = 0;
    this.compacted = this.revision;
  }
}
