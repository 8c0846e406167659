import { describe, expect, it } from 'vitest';
import type { NamespaceInput, PodInput } from './inputs.ts';
import {
  antreaSelectsPod,
  deckhouseSelectsPod,
  type LabelSelector,
  matchesLabelMap,
  matchesSelector,
} from './selector.ts';

function pod(namespace: string, labels: Record<string, string>): PodInput {
  return {
    namespace,
    name: `${namespace}-pod`,
    labels,
    ip: '10.0.1.5',
    nodeName: 'worker',
    phase: 'Running',
    hostNetwork: false,
    ready: true,
  };
}

describe('matchesSelector', () => {
  const labels = { app: 'web', tier: 'front', track: 'stable' };

  it.each<[string, LabelSelector, boolean]>([
    ['empty selector matches everything', {}, true],
    ['matchLabels all present', { matchLabels: { app: 'web', tier: 'front' } }, true],
    ['matchLabels one value differs', { matchLabels: { app: 'web', tier: 'back' } }, false],
    ['matchLabels key absent', { matchLabels: { role: 'web' } }, false],
    [
      'In with the value',
      { matchExpressions: [{ key: 'tier', operator: 'In', values: ['back', 'front'] }] },
      true,
    ],
    [
      'In without the value',
      { matchExpressions: [{ key: 'tier', operator: 'In', values: ['back'] }] },
      false,
    ],
    [
      'In on an absent key',
      { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] },
      false,
    ],
    [
      'NotIn with the value',
      { matchExpressions: [{ key: 'track', operator: 'NotIn', values: ['stable'] }] },
      false,
    ],
    [
      'NotIn without the value',
      { matchExpressions: [{ key: 'track', operator: 'NotIn', values: ['canary'] }] },
      true,
    ],
    [
      'NotIn on an absent key holds',
      { matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] },
      true,
    ],
    ['Exists', { matchExpressions: [{ key: 'app', operator: 'Exists' }] }, true],
    ['Exists on an absent key', { matchExpressions: [{ key: 'zone', operator: 'Exists' }] }, false],
    ['DoesNotExist', { matchExpressions: [{ key: 'zone', operator: 'DoesNotExist' }] }, true],
    [
      'DoesNotExist on a present key',
      { matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] },
      false,
    ],
    [
      'labels and expressions must all hold',
      {
        matchLabels: { app: 'web' },
        matchExpressions: [{ key: 'tier', operator: 'In', values: ['back'] }],
      },
      false,
    ],
  ])('%s', (_name, selector, expected) => {
    expect(matchesSelector(selector, labels)).toBe(expected);
  });

  it('an empty label value matches only an empty value (node-role.deckhouse.io/egress: "")', () => {
    const selector = { 'node-role.deckhouse.io/egress': '' };
    expect(matchesLabelMap(selector, { 'node-role.deckhouse.io/egress': '' })).toBe(true);
    expect(matchesLabelMap(selector, { 'node-role.deckhouse.io/egress': 'true' })).toBe(false);
    expect(matchesLabelMap(selector, {})).toBe(false);
    expect(matchesLabelMap(undefined, {})).toBe(true);
  });

  it('does not see inherited properties as labels', () => {
    expect(
      matchesSelector({ matchExpressions: [{ key: 'toString', operator: 'Exists' }] }, {}),
    ).toBe(false);
  });
});

describe('Deckhouse podSelector', () => {
  const seedSelector = {
    matchLabels: { app: 'backend', 'io.kubernetes.pod.namespace': 'default' },
  };

  it('the seed’s selector takes app=backend pods in default only', () => {
    expect(deckhouseSelectsPod(seedSelector, pod('default', { app: 'backend' }))).toBe(true);
    expect(deckhouseSelectsPod(seedSelector, pod('prod', { app: 'backend' }))).toBe(false);
    expect(deckhouseSelectsPod(seedSelector, pod('default', { app: 'frontend' }))).toBe(false);
  });

  it('a pod cannot claim another namespace with a label of that name', () => {
    const sneaky = pod('prod', { app: 'backend', 'io.kubernetes.pod.namespace': 'default' });
    expect(deckhouseSelectsPod(seedSelector, sneaky)).toBe(false);
  });

  it('namespace expressions work on the pseudo-label', () => {
    const selector: LabelSelector = {
      matchExpressions: [
        { key: 'io.kubernetes.pod.namespace', operator: 'NotIn', values: ['kube-system'] },
      ],
    };
    expect(deckhouseSelectsPod(selector, pod('default', {}))).toBe(true);
    expect(deckhouseSelectsPod(selector, pod('kube-system', {}))).toBe(false);
  });
});

describe('Antrea appliedTo', () => {
  const namespaces = new Map<string, NamespaceInput>([
    ['prod', { name: 'prod', labels: { env: 'prod', 'kubernetes.io/metadata.name': 'prod' } }],
    ['staging', { name: 'staging', labels: { env: 'staging' } }],
  ]);

  it('empty appliedTo selects nothing', () => {
    expect(antreaSelectsPod({}, pod('prod', { app: 'web' }), namespaces)).toBe(false);
  });

  it('podSelector alone selects across namespaces', () => {
    const appliedTo = { podSelector: { matchLabels: { app: 'web' } } };
    expect(antreaSelectsPod(appliedTo, pod('prod', { app: 'web' }), namespaces)).toBe(true);
    expect(antreaSelectsPod(appliedTo, pod('other', { app: 'web' }), namespaces)).toBe(true);
    expect(antreaSelectsPod(appliedTo, pod('prod', { app: 'db' }), namespaces)).toBe(false);
  });

  it('namespaceSelector alone selects every pod of the namespaces', () => {
    const appliedTo = { namespaceSelector: { matchLabels: { env: 'prod' } } };
    expect(antreaSelectsPod(appliedTo, pod('prod', {}), namespaces)).toBe(true);
    expect(antreaSelectsPod(appliedTo, pod('staging', {}), namespaces)).toBe(false);
  });

  it('an empty podSelector with a namespaceSelector selects all pods of the namespaces', () => {
    const appliedTo = { namespaceSelector: { matchLabels: { env: 'prod' } }, podSelector: {} };
    expect(antreaSelectsPod(appliedTo, pod('prod', { any: 'thing' }), namespaces)).toBe(true);
  });

  it('both must match', () => {
    const appliedTo = {
      namespaceSelector: { matchLabels: { env: 'prod' } },
      podSelector: { matchLabels: { role: 'web' } },
    };
    expect(antreaSelectsPod(appliedTo, pod('prod', { role: 'web' }), namespaces)).toBe(true);
    expect(antreaSelectsPod(appliedTo, pod('staging', { role: 'web' }), namespaces)).toBe(false);
    expect(antreaSelectsPod(appliedTo, pod('prod', { role: 'db' }), namespaces)).toBe(false);
  });

  it('kubernetes.io/metadata.name is the namespace name, even when the label is missing or wrong', () => {
    const appliedTo = {
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'staging' } },
    };
    expect(antreaSelectsPod(appliedTo, pod('staging', {}), namespaces)).toBe(true);
    // A namespace not in the list (informer not synced yet) still has its name.
    const unknown = {
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'new' } },
    };
    expect(antreaSelectsPod(unknown, pod('new', {}), namespaces)).toBe(true);
    const lying = new Map([['a', { name: 'a', labels: { 'kubernetes.io/metadata.name': 'b' } }]]);
    const forB = { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'b' } } };
    expect(antreaSelectsPod(forB, pod('a', {}), lying)).toBe(false);
  });
});
