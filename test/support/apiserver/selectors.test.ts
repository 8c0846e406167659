import { describe, expect, it } from 'vitest';
import { ApiError } from './api-error.ts';
import { fieldValue, parseFieldSelector, parseLabelSelector } from './selectors.ts';

const pod = (labels: Record<string, string>, nodeName = 'n1') => ({
  metadata: { name: 'p', namespace: 'default', labels },
  spec: { nodeName },
  status: { phase: 'Running' },
});

describe('label selectors', () => {
  const cases: [string, Record<string, string>, boolean][] = [
    ['', {}, true],
    ['app=web', { app: 'web' }, true],
    ['app==web', { app: 'web' }, true],
    ['app=web', { app: 'db' }, false],
    ['app!=web', {}, true],
    ['app!=web', { app: 'web' }, false],
    ['app in (web, db)', { app: 'db' }, true],
    ['app in (web,db)', { app: 'x' }, false],
    ['app notin (web)', {}, true],
    ['app notin (web)', { app: 'web' }, false],
    ['app', { app: '' }, true],
    ['!app', { app: '' }, false],
    ['!app', {}, true],
    ['tier>2', { tier: '3' }, true],
    ['tier<2', { tier: '3' }, false],
    ['app=web,tier in (a,b)', { app: 'web', tier: 'b' }, true],
    ['app=web,tier in (a,b)', { app: 'web', tier: 'c' }, false],
    ['node-role.kubernetes.io/egress', { 'node-role.kubernetes.io/egress': '' }, true],
  ];
  for (const [sel, labels, want] of cases) {
    it(`"${sel}" on ${JSON.stringify(labels)} is ${want}`, () => {
      expect(parseLabelSelector(sel)(pod(labels))).toBe(want);
    });
  }

  it('rejects bad syntax with 400', () => {
    for (const bad of ['app=we b', 'a b c', '=x', 'tier>x']) {
      expect(() => parseLabelSelector(bad), bad).toThrow(ApiError);
    }
  });
});

describe('field selectors', () => {
  it('matches spec.nodeName, metadata.name and negation', () => {
    const sel = parseFieldSelector('spec.nodeName=n1,metadata.name!=q', ['spec.nodeName']);
    expect(sel(pod({}))).toBe(true);
    expect(sel(pod({}, 'n2'))).toBe(false);
  });

  it('treats a missing field as empty', () => {
    expect(parseFieldSelector('spec.nodeName=', ['spec.nodeName'])({ spec: {} })).toBe(true);
    expect(fieldValue({ a: { b: 1 } }, 'a.b')).toBe('1');
    expect(fieldValue({ a: { b: {} } }, 'a.b')).toBe('');
  });

  it('rejects unsupported fields as the apiserver does', () => {
    expect(() => parseFieldSelector('spec.foo=x', ['spec.nodeName'])).toThrow(
      /field label not supported: spec.foo/,
    );
    expect(() => parseFieldSelector('nonsense', [])).toThrow(ApiError);
  });
});
