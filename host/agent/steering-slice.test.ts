import { describe, expect, it } from 'vitest';
import { cidrContains, parseCidr, parseIPv4 } from '../model/cidr.ts';
import type { EgressGroup, EgressRule, EgressState } from '../model/egress-state.ts';
import { steeringOnly, steeringSlice } from './steering-slice.ts';

const clusterCIDRs = ['10.244.0.0/16', '192.168.77.0/24'];
const addresses: Record<string, string> = { gw1: '192.168.77.11', gw2: '192.168.77.12' };
const addressOf = (node: string) => addresses[node] ?? null;

function group(key: string, activeNode: string | null): EgressGroup {
  return {
    key,
    mode: 'virtual-ip',
    egressIP: '172.18.18.242',
    interfaceName: null,
    candidates: ['gw1', 'gw2'],
    suitable: ['gw1', 'gw2'],
    activeNode,
  };
}

function rule(
  id: string,
  groupKey: string,
  placement: Record<string, string>,
  destinations: string[],
): EgressRule {
  return {
    id,
    group: groupKey,
    sources: Object.keys(placement).sort(),
    placement,
    destinations,
    excluded: clusterCIDRs,
  };
}

describe('steeringSlice', () => {
  const state: EgressState = {
    groups: [group('EgressGateway/a', 'gw1'), group('EgressGateway/b', 'gw2')],
    rules: [
      rule(
        'EgressGatewayPolicy/a',
        'EgressGateway/a',
        { '10.244.1.11': 'worker1', '10.244.2.11': 'worker2' },
        ['0.0.0.0/0'],
      ),
      rule(
        'EgressGatewayPolicy/b',
        'EgressGateway/b',
        { '10.244.1.11': 'worker1', '10.244.1.12': 'worker1' },
        ['203.0.113.0/24'],
      ),
    ],
    clusterCIDRs,
  };

  it('tunnels a worker’s own pods to each group’s active node, with exact destinations', () => {
    const slice = steeringSlice(state, 'worker1', addressOf);
    expect(slice.local).toEqual([]);
    expect([...slice.localSources].sort()).toEqual(['10.244.1.11', '10.244.1.12']);
    const [a, b] = slice.tunnelled;
    expect(a!.id).toBe('EgressGateway/a');
    expect(a!.nextHop).toBe('192.168.77.11');
    // Pod .11 is in both policies: the /24 goes to b, the rest of the world to a.
    expect(a!.pairs).toHaveLength(1);
    expect(a!.pairs[0]!.sources).toEqual(['10.244.1.11/32']);
    expect(a!.pairs[0]!.destinations).not.toContain('203.0.113.0/24');
    expect(a!.pairs[0]!.destinations).toContain('203.0.112.0/24');
    const inCluster = (d: string) => cidrContains(parseCidr(d), parseIPv4('10.244.3.3'));
    expect(a!.pairs[0]!.destinations.some(inCluster)).toBe(false);
    expect(a!.pairs[0]!.destinations.some((d) => d.startsWith('10.'))).toBe(true);
    expect(b!.nextHop).toBe('192.168.77.12');
    // One pair per class of pods (the same set of rules selects them).
    expect(b!.pairs).toEqual([
      { sources: ['10.244.1.11/32'], destinations: ['203.0.113.0/24'] },
      { sources: ['10.244.1.12/32'], destinations: ['203.0.113.0/24'] },
    ]);
  });

  it('sends a gateway node’s own pods into its TUN for the groups active there', () => {
    const onGateway: EgressState = {
      ...state,
      rules: [
        rule('EgressGatewayPolicy/a', 'EgressGateway/a', { '10.244.11.5': 'gw1' }, ['0.0.0.0/0']),
      ],
    };
    const slice = steeringSlice(onGateway, 'gw1', addressOf);
    expect(slice.tunnelled).toEqual([]);
    expect(slice.local).toHaveLength(1);
    expect(slice.local[0]!.sources).toEqual(['10.244.11.5/32']);
    expect(slice.localSources).toEqual(new Set(['10.244.11.5']));
    // The standby node of the same group tunnels them instead.
    const standby = steeringSlice(
      { ...onGateway, rules: [{ ...onGateway.rules[0]!, placement: { '10.244.11.5': 'gw2' } }] },
      'gw2',
      addressOf,
    );
    expect(standby.local).toEqual([]);
    expect(standby.tunnelled[0]!.nextHop).toBe('192.168.77.11');
  });

  it('keeps a group without an active node, with no next hop (the plan refuses its traffic)', () => {
    const slice = steeringSlice(
      { ...state, groups: [group('EgressGateway/a', null), group('EgressGateway/b', 'gw2')] },
      'worker2',
      addressOf,
    );
    expect(slice.tunnelled).toEqual([
      {
        id: 'EgressGateway/a',
        nextHop: null,
        pairs: [{ sources: ['10.244.2.11/32'], destinations: expect.any(Array) }],
      },
    ]);
  });

  it('steers a group without an active node to the election’s choice, when there is one', () => {
    const slice = steeringSlice(
      { ...state, groups: [group('EgressGateway/a', null), group('EgressGateway/b', 'gw2')] },
      'worker2',
      addressOf,
      (key) => (key === 'EgressGateway/a' ? 'gw2' : null),
    );
    expect(slice.tunnelled[0]!.nextHop).toBe('192.168.77.12');
  });

  it('steers nothing on a node without selected pods', () => {
    expect(steeringSlice(state, 'worker3', addressOf)).toEqual({
      local: [],
      tunnelled: [],
      localSources: new Set(),
    });
  });
});

describe('steeringOnly', () => {
  it('drops the translating parts and refuses the pairs this node would have translated', () => {
    const local = [
      {
        id: 'EgressGatewayPolicy/a@0',
        sources: ['10.244.11.5/32'],
        destinations: ['0.0.0.0/1'],
        excluded: [],
      },
    ];
    const role = steeringOnly(
      {
        steering: [
          ...local,
          { id: 'x', sources: ['10.244.1.1/32'], destinations: ['0.0.0.0/0'], excluded: [] },
        ],
        vips: ['172.18.18.242'],
        localEgress: [{ ip: '172.18.18.11', portMin: 61000, portMax: 65535 }],
        tunnel: {
          local: '192.168.77.11',
          guard: null,
          groups: [{ id: 'EgressGateway/b', nextHop: '192.168.77.12', pairs: [] }],
        },
      },
      local,
    );
    expect(role.steering).toEqual([]);
    expect(role.vips).toEqual([]);
    expect(role.localEgress).toEqual([]);
    expect(role.tunnel?.groups).toEqual([
      { id: 'EgressGateway/b', nextHop: '192.168.77.12', pairs: [] },
      {
        id: 'unserved/EgressGatewayPolicy/a@0',
        nextHop: null,
        pairs: [{ sources: ['10.244.11.5/32'], destinations: ['0.0.0.0/1'] }],
      },
    ]);
  });
});
