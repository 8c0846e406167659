import { describe, expect, it } from 'vitest';
import { seedObjects } from '../api/fixtures/seed-objects.ts';
import { compile } from './compile.ts';
import { antreaCluster, deckhouseCluster, node, pod } from './fixtures/cluster.ts';

const deckhouse = () => seedObjects('deckhouse-seed.en.yaml').slice(1); // the VIP gateway and the policy
const antreaHA = () =>
  seedObjects('antrea-seed.yaml').filter((o) =>
    ['external-ip-pool', 'egress-staging-web'].includes((o.metadata as { name: string }).name),
  );

function bothApis() {
  const inputs = deckhouseCluster();
  const antrea = antreaCluster();
  inputs.nodes.push(...antrea.nodes);
  inputs.pods.push(...antrea.pods);
  inputs.namespaces.push(...antrea.namespaces.filter((n) => n.name !== 'prod'));
  inputs.liveAgents = new Set([...inputs.liveAgents, ...antrea.liveAgents]);
  return inputs;
}

describe('compile', () => {
  it('both APIs in one model, groups sorted by key, Deckhouse rules first', () => {
    const { state } = compile([...antreaHA(), ...deckhouse()], bothApis());
    expect(state.groups.map((g) => [g.key, g.mode, g.egressIP, g.activeNode])).toEqual([
      ['Egress/egress-staging-web', 'virtual-ip', '10.10.0.11', 'egress-a'],
      ['EgressGateway/egress-gw', 'virtual-ip', '172.18.18.242', 'egress-a'],
    ]);
    expect(state.rules.map((r) => r.id)).toEqual([
      'EgressGatewayPolicy/egress-gw-policy',
      'Egress/egress-staging-web',
    ]);
  });

  it('a broken object changes nothing for the others', () => {
    // As in a cluster: the good objects are older and their statuses have been written.
    let good: Record<string, unknown>[] = [...antreaHA(), ...deckhouse()];
    for (const o of good)
      (o.metadata as Record<string, unknown>).creationTimestamp = '2026-01-01T00:00:00Z';
    const first = compile(good, bothApis());
    good = good.map((o) => ({
      ...o,
      status: first.statuses.find((s) => s.name === (o.metadata as { name: string }).name)!.status,
    }));
    const broken = [
      {
        apiVersion: 'network.deckhouse.io/v1alpha1',
        kind: 'EgressGateway',
        metadata: { name: 'x' },
        spec: {},
      },
      {
        apiVersion: 'crd.antrea.io/v1alpha2',
        kind: 'Egress',
        metadata: { name: 'y', creationTimestamp: '2026-02-01T00:00:00Z' },
        spec: { appliedTo: { podSelector: {} }, egressIP: '10.10.0.11' }, // conflicts, newer
        status: { egressIP: 'garbage' },
      },
      {
        apiVersion: 'crd.antrea.io/v1alpha2',
        kind: 'ExternalIPPool',
        metadata: { name: 'z' },
        spec: { ipRanges: [{ cidr: '10.10.0.0/99' }] },
      },
      {
        apiVersion: 'network.deckhouse.io/v1alpha1',
        kind: 'EgressGatewayPolicy',
        metadata: { name: 'w' },
        spec: {
          destinationCIDRs: ['0.0.0.0/0'],
          egressGatewayName: 'nope',
          selectors: [{ podSelector: {} }],
        },
      },
      'not an object',
      null,
    ];
    const alone = compile(good, bothApis());
    const together = compile([...broken, ...good], bothApis());
    expect(together.state).toEqual(alone.state);
    for (const status of alone.statuses) expect(together.statuses).toContainEqual(status);
    expect(
      together.statuses
        .filter((s) => ['x', 'y', 'z', 'w'].includes(s.name))
        .map((s) => [s.name, s.status.conditions?.[0]?.reason]),
    ).toEqual([
      ['x', 'SchemaViolation'],
      ['w', 'GatewayNotFound'],
      ['y', 'IPConflict'],
      ['z', 'InvalidCIDR'],
    ]);
    expect(together.ignored).toBe(2);
  });

  it('statuses come by kind then name; objects of other kinds are counted, not used', () => {
    const result = compile(
      [
        ...antreaHA(),
        ...deckhouse(),
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } },
      ],
      bothApis(),
    );
    expect(result.statuses.map((s) => `${s.kind}/${s.name}`)).toEqual([
      'EgressGateway/egress-gw',
      'EgressGatewayPolicy/egress-gw-policy',
      'Egress/egress-staging-web',
      'ExternalIPPool/external-ip-pool',
    ]);
    expect(result.ignored).toBe(1);
  });

  it('a nameless object and a duplicate name get no status, but say why', () => {
    const [gateway, policy] = deckhouse();
    const nameless = { ...structuredClone(gateway!), metadata: {} };
    const duplicate = structuredClone(policy!);
    (duplicate.spec as { egressGatewayName: string }).egressGatewayName = 'other';
    const result = compile([gateway, policy, nameless, duplicate], deckhouseCluster());
    expect(result.unwritable).toEqual([
      {
        kind: 'EgressGateway',
        name: null,
        issues: [
          {
            reason: 'SchemaViolation',
            severity: 'error',
            message: 'metadata.name: required field is missing',
          },
        ],
      },
      {
        kind: 'EgressGatewayPolicy',
        name: 'egress-gw-policy',
        issues: [
          {
            reason: 'DuplicateName',
            severity: 'error',
            message:
              'another EgressGatewayPolicy named egress-gw-policy comes first; this one is ignored',
          },
        ],
      },
    ]);
    expect(result.state.rules.map((r) => r.group)).toEqual(['EgressGateway/egress-gw']);
  });

  it('warnings keep the object in use and show in Valid and in an event', () => {
    const [gateway, policy] = deckhouse();
    (policy!.spec as { destinationCIDRs: string[] }).destinationCIDRs = ['203.0.113.7/24'];
    const result = compile([gateway, policy], deckhouseCluster());
    const status = result.statuses.find((s) => s.kind === 'EgressGatewayPolicy')!;
    const warning =
      'spec.destinationCIDRs[0]: 203.0.113.7/24 has host bits set; it is read as its network address';
    expect(status.status.conditions?.[0]).toEqual({
      type: 'Valid',
      status: 'True',
      reason: 'Valid',
      message: `the spec is valid; warning: ${warning}`,
    });
    expect(status.events).toEqual([
      { type: 'Warning', reason: 'NonCanonicalCIDR', message: warning },
    ]);
    expect(result.state.rules).toHaveLength(1);
  });

  it('IPv6 pod addresses are not selected', () => {
    const inputs = deckhouseCluster();
    inputs.pods = [
      pod('default', 'v6', { app: 'backend' }, 'fd00::5'),
      pod('default', 'v4', { app: 'backend' }, '10.244.1.3'),
    ];
    expect(compile(deckhouse(), inputs).state.rules[0]?.sources).toEqual(['10.244.1.3']);
  });
});

describe('the election contract', () => {
  it('the chooser is asked once per group, in key order, with the suitable nodes', () => {
    const calls: [string, readonly string[]][] = [];
    const inputs = bothApis();
    inputs.chooseActive = (key, suitable) => {
      calls.push([key, [...suitable]]);
      return suitable.at(-1) ?? null;
    };
    const { state } = compile([...deckhouse(), ...antreaHA()], inputs);
    expect(calls).toEqual([
      ['Egress/egress-staging-web', ['egress-a', 'egress-b', 'node-4', 'node-5', 'node-6']],
      ['EgressGateway/egress-gw', ['egress-a', 'egress-b']],
    ]);
    expect(state.groups.map((g) => g.activeNode)).toEqual(['node-6', 'egress-b']);
  });

  it('a chooser that names an unsuitable node breaks the contract: EGW_BAD_ELECTION', () => {
    const inputs = deckhouseCluster({ chooseActive: () => 'worker-1' });
    expect(() => compile(deckhouse(), inputs)).toThrow(
      expect.objectContaining({
        code: 'EGW_BAD_ELECTION',
        message:
          'the election chose worker-1 for EgressGateway/egress-gw, which is not among its suitable nodes (egress-a, egress-b)',
      }),
    );
  });

  it('inputs that cannot describe a cluster: EGW_BAD_INPUT', () => {
    const twins = deckhouseCluster();
    twins.nodes.push(node('egress-a'));
    expect(() => compile([], twins)).toThrow(expect.objectContaining({ code: 'EGW_BAD_INPUT' }));
    expect(() => compile([], deckhouseCluster({ clusterCIDRs: ['10.0.0.0/40'] }))).toThrow(
      expect.objectContaining({ code: 'EGW_BAD_INPUT' }),
    );
  });
});
