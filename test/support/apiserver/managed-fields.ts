/**
 * Field ownership for server-side apply, kept in metadata.managedFields in the
 * apiserver's own format (FieldsV1: nested `f:<key>` maps, `{}` at owned leaves).
 *
 * Simplifications, all on the safe side for our clients: lists are atomic (one owner for
 * the whole list, as for `x-kubernetes-list-type: atomic`), and an empty map is a leaf.
 *
 * Invariants:
 *  - every entry's paths exist in the object (a field removed by any write leaves every
 *    entry that owned it);
 *  - a field is owned by at most one Apply entry per subresource unless both applied the
 *    same value (shared ownership);
 *  - entries with no paths are dropped.
 */
import { ApiError } from './api-error.ts';
import { clone, deepEqual, isMap } from './patch.ts';

export type FieldPath = string[];
export type Scope = 'main' | 'status';

export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  fieldsType: 'FieldsV1';
  fieldsV1: Record<string, unknown>;
  subresource?: string;
}

interface Entry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  subresource: string;
  paths: Map<string, FieldPath>;
}

/** Metadata fields the server owns: never tracked, never applied. */
const SERVER_METADATA = new Set([
  'name',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'managedFields',
  'selfLink',
]);

export function leafPaths(value: unknown, prefix: FieldPath = []): FieldPath[] {
  if (!isMap(value) || Object.keys(value).length === 0) return prefix.length === 0 ? [] : [prefix];
  const out: FieldPath[] = [];
  for (const [k, v] of Object.entries(value)) out.push(...leafPaths(v, [...prefix, k]));
  return out;
}

/** The paths of `obj` that a manager can own in `scope`. */
export function trackedPaths(obj: unknown, scope: Scope, hasStatus: boolean): FieldPath[] {
  return leafPaths(obj).filter((p) => {
    const top = p[0];
    if (top === 'apiVersion' || top === 'kind') return false;
    if (top === 'metadata' && SERVER_METADATA.has(p[1] ?? '')) return false;
    if (!hasStatus) return true;
    return scope === 'status' ? top === 'status' : top !== 'status';
  });
}

export function valueAt(obj: unknown, path: FieldPath): unknown {
  let cur = obj;
  for (const k of path) {
    if (!isMap(cur)) return undefined;
    cur = cur[k];
  }
  return cur;
}

function setAt(obj: Record<string, unknown>, path: FieldPath, value: unknown): void {
  let cur = obj;
  for (const k of path.slice(0, -1)) {
    if (!isMap(cur[k])) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  cur[path[path.length - 1]!] = clone(value);
}

/** Deletes the field and any maps it leaves empty on the way up. */
function deleteAt(obj: Record<string, unknown>, path: FieldPath): void {
  const chain: Record<string, unknown>[] = [obj];
  let cur: unknown = obj;
  for (const k of path.slice(0, -1)) {
    cur = isMap(cur) ? cur[k] : undefined;
    if (!isMap(cur)) return;
    chain.push(cur);
  }
  delete chain[chain.length - 1]![path[path.length - 1]!];
  for (let i = chain.length - 1; i > 0; i--) {
    if (Object.keys(chain[i]!).length > 0) break;
    delete chain[i - 1]![path[i - 1]!];
  }
}

function overlaps(a: FieldPath, b: FieldPath): boolean {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function toFieldsV1(paths: Iterable<FieldPath>): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const p of paths) {
    let cur = root;
    for (const k of p) {
      const key = `f:${k}`;
      if (!isMap(cur[key])) cur[key] = {};
      cur = cur[key] as Record<string, unknown>;
    }
  }
  return root;
}

export function fromFieldsV1(fields: unknown, prefix: FieldPath = []): FieldPath[] {
  if (!isMap(fields)) return [];
  const keys = Object.keys(fields).filter((k) => k.startsWith('f:'));
  if (keys.length === 0) return prefix.length === 0 ? [] : [prefix];
  return keys.flatMap((k) => fromFieldsV1(fields[k], [...prefix, k.slice(2)]));
}

function pathMap(paths: FieldPath[]): Map<string, FieldPath> {
  return new Map(paths.map((p) => [JSON.stringify(p), p]));
}

function readEntries(obj: unknown): Entry[] {
  const raw = valueAt(obj, ['metadata', 'managedFields']);
  if (!Array.isArray(raw)) return [];
  return raw.filter(isMap).map((e) => ({
    manager: String(e['manager'] ?? ''),
    operation: e['operation'] === 'Apply' ? 'Apply' : 'Update',
    apiVersion: String(e['apiVersion'] ?? ''),
    time: String(e['time'] ?? ''),
    subresource: String(e['subresource'] ?? ''),
    paths: pathMap(fromFieldsV1(e['fieldsV1'])),
  }));
}

function writeEntries(obj: Record<string, unknown>, entries: Entry[]): void {
  if (!isMap(obj['metadata'])) obj['metadata'] = {};
  const meta = obj['metadata'] as Record<string, unknown>;
  const kept = entries.filter((e) => e.paths.size > 0);
  if (kept.length === 0) {
    delete meta['managedFields'];
    return;
  }
  meta['managedFields'] = kept.map((e) => {
    const out: ManagedFieldsEntry = {
      manager: e.manager,
      operation: e.operation,
      apiVersion: e.apiVersion,
      time: e.time,
      fieldsType: 'FieldsV1',
      fieldsV1: toFieldsV1(e.paths.values()),
    };
    if (e.subresource !== '') out.subresource = e.subresource;
    return out;
  });
}

export function nowRfc3339(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function findOrAdd(
  entries: Entry[],
  manager: string,
  operation: 'Apply' | 'Update',
  subresource: string,
  apiVersion: string,
): Entry {
  let e = entries.find(
    (x) => x.manager === manager && x.operation === operation && x.subresource === subresource,
  );
  if (!e) {
    e = { manager, operation, apiVersion, time: '', subresource, paths: new Map() };
    entries.push(e);
  }
  e.apiVersion = apiVersion;
  e.time = nowRfc3339();
  return e;
}

function dropVanished(entries: Entry[], obj: unknown): void {
  for (const e of entries) {
    for (const [key, p] of e.paths) if (valueAt(obj, p) === undefined) e.paths.delete(key);
  }
}

export interface WriteContext {
  manager: string;
  scope: Scope;
  hasStatus: boolean;
  apiVersion: string;
}

/**
 * Records a non-apply write (create, update, patch) of `next` over `previous`: the writer
 * takes over every field whose value it changed. Modifies `next`'s managedFields.
 */
export function recordUpdate(
  previous: Record<string, unknown> | undefined,
  next: Record<string, unknown>,
  ctx: WriteContext,
): void {
  const entries = readEntries(previous ?? {});
  dropVanished(entries, next);
  const changed = trackedPaths(next, ctx.scope, ctx.hasStatus).filter(
    (p) => !deepEqual(valueAt(previous, p), valueAt(next, p)),
  );
  if (changed.length > 0) {
    for (const e of entries) {
      for (const [key, p] of e.paths) if (changed.some((c) => overlaps(c, p))) e.paths.delete(key);
    }
    const mine = findOrAdd(
      entries,
      ctx.manager,
      'Update',
      subresourceOf(ctx.scope),
      ctx.apiVersion,
    );
    for (const p of changed) mine.paths.set(JSON.stringify(p), p);
  }
  writeEntries(next, entries);
}

function subresourceOf(scope: Scope): string {
  return scope === 'status' ? 'status' : '';
}

/**
 * Server-side apply of `applied` (the user's configuration) onto `current` (undefined:
 * create). Returns the new object; throws ApiError 409 when another manager owns a field
 * the configuration changes and `force` is false.
 */
export function serverSideApply(
  current: Record<string, unknown> | undefined,
  applied: Record<string, unknown>,
  ctx: WriteContext,
  force: boolean,
): Record<string, unknown> {
  const base = clone(current ?? {});
  const entries = readEntries(base);
  const sub = subresourceOf(ctx.scope);
  const previousApply = entries.find(
    (e) => e.manager === ctx.manager && e.operation === 'Apply' && e.subresource === sub,
  );
  const newPaths = trackedPaths(applied, ctx.scope, ctx.hasStatus);

  const conflicts: string[] = [];
  for (const e of entries) {
    if (e === previousApply) continue;
    for (const [key, owned] of e.paths) {
      const hit = newPaths.find((p) => overlaps(p, owned));
      if (!hit || deepEqual(valueAt(base, hit), valueAt(applied, hit))) continue;
      if (force) e.paths.delete(key);
      else
        conflicts.push(`conflict with "${e.manager}" using ${e.apiVersion}: .${owned.join('.')}`);
    }
  }
  if (conflicts.length > 0) {
    throw new ApiError(
      409,
      'Conflict',
      `Apply failed with ${conflicts.length} conflict${conflicts.length > 1 ? 's' : ''}: ${conflicts.join(', ')}`,
    );
  }

  // Fields this manager applied before and no longer applies go away, unless someone
  // else still owns them.
  const newKeys = new Set(newPaths.map((p) => JSON.stringify(p)));
  for (const [key, p] of previousApply?.paths ?? []) {
    if (newKeys.has(key)) continue;
    const ownedElsewhere = entries.some(
      (e) => e !== previousApply && [...e.paths.values()].some((q) => overlaps(p, q)),
    );
    if (!ownedElsewhere) deleteAt(base, p);
  }
  for (const p of newPaths) setAt(base, p, valueAt(applied, p));

  dropVanished(entries, base);
  const mine = findOrAdd(entries, ctx.manager, 'Apply', sub, ctx.apiVersion);
  mine.paths = pathMap(newPaths);
  writeEntries(base, entries);
  return base;
}
