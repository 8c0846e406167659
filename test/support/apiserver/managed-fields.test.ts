import { describe, expect, it } from 'vitest';
import { ApiError } from './api-error.ts';
import {
  fromFieldsV1,
  leafPaths,
  type ManagedFieldsEntry,
  recordUpdate,
  serverSideApply,
  toFieldsV1,
  type WriteContext,
} from './managed-fields.ts';
import type { Obj } from './store.ts';

const ctx = (manager: string, scope: 'main' | 'status' = 'main'): WriteContext => ({
  manager,
  scope,
  hasStatus: true,
  apiVersion: 'example.com/v1',
});

function managers(obj: Obj): ManagedFieldsEntry[] {
  return (obj['metadata'] as { managedFields: ManagedFieldsEntry[] }).managedFields;
}

describe('field sets', () => {
  it('round-trips through FieldsV1', () => {
    const obj = { spec: { a: 1, b: { c: [1, 2] }, d: {} }, metadata: { labels: { x: 'y' } } };
    const paths = leafPaths(obj);
    expect(toFieldsV1(paths)).toEqual({
      'f:spec': { 'f:a': {}, 'f:b': { 'f:c': {} }, 'f:d': {} },
      'f:metadata': { 'f:labels': { 'f:x': {} } },
    });
    expect(fromFieldsV1(toFieldsV1(paths))).toEqual(paths);
  });
});

describe('server-side apply', () => {
  const base = () => ({ apiVersion: 'example.com/v1', kind: 'W', metadata: { name: 'w' } });

  it('sets applied fields and removes the ones the manager stopped applying', () => {
    const first = serverSideApply(undefined, { ...base(), spec: { a: 1, b: 2 } }, ctx('me'), false);
    expect(first['spec']).toEqual({ a: 1, b: 2 });
    const second = serverSideApply(first, { ...base(), spec: { a: 1 } }, ctx('me'), false);
    expect(second['spec']).toEqual({ a: 1 });
  });

  it('conflicts with another manager on a changed value unless forced', () => {
    const first = serverSideApply(undefined, { ...base(), spec: { a: 1 } }, ctx('alice'), false);
    // Same value: shared ownership, no conflict.
    const shared = serverSideApply(first, { ...base(), spec: { a: 1 } }, ctx('bob'), false);
    let err: unknown;
    try {
      serverSideApply(shared, { ...base(), spec: { a: 2 } }, ctx('bob'), false);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).httpCode).toBe(409);
    expect((err as ApiError).message).toContain('conflict with "alice"');
    const forced = serverSideApply(shared, { ...base(), spec: { a: 2 } }, ctx('bob'), true);
    expect(forced['spec']).toEqual({ a: 2 });
    const owners = managers(forced).map((m) => m.manager);
    expect(owners).toEqual(['bob']);
  });

  it('keeps a field another manager still owns when this one stops applying it', () => {
    const a = serverSideApply(undefined, { ...base(), spec: { x: 1 } }, ctx('alice'), false);
    const b = serverSideApply(a, { ...base(), spec: { x: 1, y: 2 } }, ctx('bob'), false);
    const c = serverSideApply(b, { ...base(), spec: { y: 2 } }, ctx('bob'), false);
    expect(c['spec']).toEqual({ x: 1, y: 2 });
  });

  it('applies to status only in the status scope', () => {
    const obj = { ...base(), spec: { a: 1 } };
    const out = serverSideApply(
      obj,
      { ...base(), spec: { a: 9 }, status: { s: 1 } },
      ctx('me', 'status'),
      false,
    );
    expect(out['spec']).toEqual({ a: 1 });
    expect(out['status']).toEqual({ s: 1 });
  });

  it('an update takes over the fields it changed', () => {
    const applied = serverSideApply(
      undefined,
      { ...base(), spec: { a: 1, b: 1 } },
      ctx('alice'),
      false,
    );
    const edited = structuredClone(applied);
    (edited['spec'] as Obj)['a'] = 5;
    recordUpdate(applied, edited, ctx('kubectl-edit'));
    const byManager = Object.fromEntries(
      managers(edited).map((m) => [m.manager, fromFieldsV1(m.fieldsV1)]),
    );
    expect(byManager).toEqual({ alice: [['spec', 'b']], 'kubectl-edit': [['spec', 'a']] });
    expect(() =>
      serverSideApply(edited, { ...base(), spec: { a: 1, b: 1 } }, ctx('alice'), false),
    ).toThrow(ApiError);
  });
});
