import { describe, expect, it } from 'vitest';
import type { ApiError } from './api-error.ts';
import { jsonPatch, mergePatch, strategicMergePatch } from './patch.ts';

describe('JSON merge patch (RFC 7386 appendix A)', () => {
  const cases: [unknown, unknown, unknown][] = [
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [
      ['a', 'b'],
      ['c', 'd'],
      ['c', 'd'],
    ],
    [{ a: 'b' }, ['c'], ['c']],
    [{ a: 'foo' }, null, null],
    [{ a: 'foo' }, 'bar', 'bar'],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ];
  for (const [target, patch, want] of cases) {
    it(`${JSON.stringify(target)} + ${JSON.stringify(patch)}`, () => {
      expect(mergePatch(target, patch)).toEqual(want);
    });
  }

  it('does not modify its input', () => {
    const target = { a: { b: 1 } };
    mergePatch(target, { a: { b: 2 } });
    expect(target).toEqual({ a: { b: 1 } });
  });
});

describe('strategic merge patch, as merge for our kinds', () => {
  it('honours $patch directives and drops the other $ keys', () => {
    const target = { spec: { a: 1, b: 2 }, meta: { x: 1 } };
    expect(
      strategicMergePatch(target, {
        spec: { $patch: 'replace', c: 3 },
        meta: { $patch: 'delete' },
        '$setElementOrder/list': [],
      }),
    ).toEqual({ spec: { c: 3 } });
    expect(strategicMergePatch({ a: 1, b: 2, c: 3 }, { $retainKeys: ['a', 'd'], d: 4 })).toEqual({
      a: 1,
      d: 4,
    });
    expect(strategicMergePatch({ count: 1, message: 'x' }, { count: 2 })).toEqual({
      count: 2,
      message: 'x',
    });
  });
});

describe('JSON patch (RFC 6902)', () => {
  it('applies every operation', () => {
    const doc = { metadata: { labels: { a: '1' } }, list: [1, 2, 3] };
    expect(
      jsonPatch(doc, [
        { op: 'add', path: '/metadata/labels/b~1c', value: '2' },
        { op: 'remove', path: '/metadata/labels/a' },
        { op: 'replace', path: '/list/0', value: 9 },
        { op: 'add', path: '/list/-', value: 4 },
        { op: 'move', from: '/list/1', path: '/moved' },
        { op: 'copy', from: '/moved', path: '/copied' },
        { op: 'test', path: '/copied', value: 2 },
      ]),
    ).toEqual({ metadata: { labels: { 'b/c': '2' } }, list: [9, 3, 4], moved: 2, copied: 2 });
    expect(doc.list).toEqual([1, 2, 3]);
  });

  it('fails with 422 on a failed test or a missing path, 400 on malformed input', () => {
    const fail = (ops: unknown): ApiError => {
      try {
        jsonPatch({ a: 1 }, ops);
      } catch (e) {
        return e as ApiError;
      }
      throw new Error('no error');
    };
    expect(fail([{ op: 'test', path: '/a', value: 2 }]).httpCode).toBe(422);
    expect(fail([{ op: 'remove', path: '/b' }]).httpCode).toBe(422);
    expect(fail([{ op: 'replace', path: '/b', value: 1 }]).httpCode).toBe(422);
    expect(fail({ op: 'add' }).httpCode).toBe(400);
    expect(fail([{ op: 'frobnicate', path: '/a' }]).httpCode).toBe(400);
    expect(fail([{ op: 'add', path: 'a', value: 1 }]).httpCode).toBe(400);
  });
});
