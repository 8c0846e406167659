import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { seedObjects } from '../api/fixtures/seed-objects.ts';
import { compile } from '../control/compile.ts';
import { validCondition } from '../control/conditions.ts';
import type { ClusterInputs } from '../control/inputs.ts';
import { egressObjectIssues } from './egress-object-issues.ts';
import { parseYamlStream } from './yaml-stream.ts';

const inputs: ClusterInputs = {
  nodes: [
    {
      name: 'gw-1',
      labels: {},
      ready: true,
      unschedulable: false,
      addresses: ['172.18.18.10'],
      interfaces: [{ name: 'eth1', addresses: ['172.18.18.10/24'] }],
      podCIDRs: [],
    },
  ],
  pods: [],
  namespaces: [],
  clusterCIDRs: [],
  liveAgents: new Set(['gw-1']),
  chooseActive: (_key, suitable) => suitable[0] ?? null,
};

const mistakes = parseYamlStream(
  readFileSync(join(import.meta.dirname, 'fixtures/mistakes.yaml.txt'), 'utf8'),
).objects.map((o) => o.value);

const vipOutside = {
  apiVersion: 'network.deckhouse.io/v1alpha1',
  kind: 'EgressGateway',
  metadata: { name: 'far-vip' },
  spec: {
    nodeSelector: {},
    sourceIP: { mode: 'VirtualIPAddress', virtualIPAddress: { ip: '192.0.2.9' } },
  },
};

const conflicting = {
  apiVersion: 'crd.antrea.io/v1beta1',
  kind: 'Egress',
  metadata: { name: 'takes-the-vip' },
  spec: { appliedTo: { podSelector: {} }, egressIP: '192.0.2.9' },
};

const nameless = { apiVersion: 'crd.antrea.io/v1beta1', kind: 'Egress', metadata: {}, spec: {} };

describe('egressObjectIssues', () => {
  // The file loader repeats compile()'s first steps to see the issues themselves; this
  // keeps the two from drifting apart: every status compile() writes must have the Valid
  // condition the loader's issues give.
  const sets: [string, unknown[]][] = [
    ['the mistakes fixture', mistakes],
    ['the Deckhouse seed', seedObjects('deckhouse-seed.en.yaml')],
    ['the Antrea seed', seedObjects('antrea-seed.yaml')],
    ['a VIP no node can hold, and an Egress with its address', [vipOutside, conflicting]],
    ['one address claimed twice', [conflicting, { ...conflicting, metadata: { name: 'second' } }]],
  ];
  for (const [what, objects] of sets) {
    it(`agrees with compile() on ${what}`, () => {
      const issues = egressObjectIssues(objects, inputs);
      const result = compile(objects, inputs);
      const used = new Set<string>();
      objects.forEach((raw, index) => {
        const { kind, metadata } = raw as { kind: string; metadata: { name?: string } };
        const key = `${kind}/${metadata.name}`;
        if (used.has(key)) return; // a repeat: compile() writes no status for it
        used.add(key);
        const status = result.statuses.find((s) => s.kind === kind && s.name === metadata.name);
        expect(status, key).toBeDefined();
        const valid = status!.status.conditions?.find((c) => c.type === 'Valid');
        expect(valid, key).toEqual(validCondition(issues[index]!));
      });
    });
  }

  it('finds the issues compile() finds across objects', () => {
    const issues = egressObjectIssues([vipOutside, conflicting, nameless, vipOutside], inputs);
    expect(issues.map((list) => list?.map((i) => i.reason))).toEqual([
      ['VIPOutsideSubnet'],
      [],
      ['SchemaViolation', 'SchemaViolation'],
      ['DuplicateName'],
    ]);
  });

  it('finds an address claimed twice, for the one later in claim order (by name)', () => {
    const second = { ...conflicting, metadata: { name: 'second' } };
    expect(
      egressObjectIssues([second, conflicting], inputs).map((l) => l?.map((i) => i.reason)),
    ).toEqual([[], ['IPConflict']]);
  });

  it('gives null for objects of other kinds', () => {
    expect(egressObjectIssues([{ apiVersion: 'v1', kind: 'Node' }, 7, null], inputs)).toEqual([
      null,
      null,
      null,
    ]);
  });
});
