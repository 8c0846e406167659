import { describe, expect, it } from 'vitest';
import { seedObject } from '../api/fixtures/seed-objects.ts';
import type { EgressState } from '../model/egress-state.ts';
import { compile } from './compile.ts';
import { clusterCIDRs, deckhouseCluster } from './fixtures/cluster.ts';
import { type PortRanges, toNatPolicy } from './nat-policy.ts';

const ports: PortRanges = {
  nodeOwned: { portMin: 1024, portMax: 32767 },
  virtual: { portMin: 1024, portMax: 65535 },
};
const seed = 'deckhouse-seed.en.yaml';
const egressAInterfaces = deckhouseCluster().nodes[0]!.interfaces!;

function gatewayNamed(name: string, index: number): Record<string, unknown> {
  const gateway = structuredClone(seedObject(seed, 'EgressGateway', 'egress-gw', index));
  gateway.metadata = { name };
  return gateway;
}

function policyFor(name: string, gateway: string, extra: Record<string, unknown> = {}) {
  const policy = structuredClone(seedObject(seed, 'EgressGatewayPolicy', 'egress-gw-policy'));
  policy.metadata = { name };
  Object.assign(policy.spec as object, { egressGatewayName: gateway, ...extra });
  return policy;
}

describe('toNatPolicy', () => {
  it('primary-ip: the active node translates to its primary IPv4 on the interface', () => {
    const { state } = compile([gatewayNamed('gw', 0), policyFor('pol', 'gw')], deckhouseCluster());
    expect(toNatPolicy(state, 'egress-a', egressAInterfaces, ports)).toEqual({
      egress: [{ ip: '172.18.18.11', portMin: 1024, portMax: 32767 }],
      rules: [
        {
          sources: ['10.244.1.9/32', '10.244.1.10/32'],
          destinations: ['0.0.0.0/0'],
          excluded: clusterCIDRs,
          egressIP: '172.18.18.11',
        },
      ],
    });
  });

  it('a standby node gets nothing', () => {
    const { state } = compile([gatewayNamed('gw', 0), policyFor('pol', 'gw')], deckhouseCluster());
    expect(toNatPolicy(state, 'egress-b', [], ports)).toEqual({ egress: [], rules: [] });
  });

  it('virtual-ip: the VIP with the whole virtual port range', () => {
    const { state } = compile([gatewayNamed('gw', 1), policyFor('pol', 'gw')], deckhouseCluster());
    const policy = toNatPolicy(state, 'egress-a', egressAInterfaces, ports);
    expect(policy.egress).toEqual([{ ip: '172.18.18.242', portMin: 1024, portMax: 65535 }]);
    expect(policy.rules.map((r) => r.egressIP)).toEqual(['172.18.18.242']);
  });

  it('a primary-ip group whose interface has no IPv4 address here is left out', () => {
    const { state } = compile([gatewayNamed('gw', 0), policyFor('pol', 'gw')], deckhouseCluster());
    const noEth1 = [{ name: 'eth0', addresses: ['10.0.0.11/24'] }];
    expect(toNatPolicy(state, 'egress-a', noEth1, ports)).toEqual({ egress: [], rules: [] });
  });

  it('two gateways on one interface share one egress address; rules keep their order', () => {
    const objects = [
      gatewayNamed('gw-1', 0),
      gatewayNamed('gw-2', 0),
      policyFor('pol-b', 'gw-2'),
      policyFor('pol-a', 'gw-1'),
    ];
    const { state } = compile(objects, deckhouseCluster());
    const policy = toNatPolicy(state, 'egress-a', egressAInterfaces, ports);
    expect(policy.egress).toEqual([{ ip: '172.18.18.11', portMin: 1024, portMax: 32767 }]);
    expect(policy.rules).toHaveLength(2);
  });

  it('rules without sources are left out', () => {
    const empty = policyFor('pol', 'gw', {
      selectors: [{ podSelector: { matchLabels: { app: 'nothing' } } }],
    });
    const { state } = compile([gatewayNamed('gw', 0), empty], deckhouseCluster());
    expect(state.rules).toHaveLength(1);
    expect(toNatPolicy(state, 'egress-a', egressAInterfaces, ports).rules).toEqual([]);
  });

  it('cluster CIDRs are folded into every rule’s excluded list, once', () => {
    const state: EgressState = {
      groups: [
        {
          key: 'Egress/e',
          mode: 'static-ip',
          egressIP: '10.10.0.104',
          interfaceName: null,
          candidates: ['n'],
          suitable: ['n'],
          activeNode: 'n',
        },
      ],
      rules: [
        {
          id: 'Egress/e',
          group: 'Egress/e',
          sources: ['10.244.4.2'],
          placement: { '10.244.4.2': 'n' },
          destinations: ['0.0.0.0/0'],
          excluded: ['192.168.0.0/16', '10.244.0.0/16'],
        },
      ],
      clusterCIDRs: ['10.244.0.0/16', '10.96.0.0/12'],
    };
    expect(toNatPolicy(state, 'n', [], ports)).toEqual({
      egress: [{ ip: '10.10.0.104', portMin: 1024, portMax: 32767 }],
      rules: [
        {
          sources: ['10.244.4.2/32'],
          destinations: ['0.0.0.0/0'],
          excluded: ['192.168.0.0/16', '10.244.0.0/16', '10.96.0.0/12'],
          egressIP: '10.10.0.104',
        },
      ],
    });
  });

  it.each([
    [{ portMin: 0, portMax: 100 }],
    [{ portMin: 2000, portMax: 1000 }],
    [{ portMin: 1024, portMax: 70000 }],
    [{ portMin: 1.5, portMax: 2000 }],
  ])('refuses the port range %j', (range) => {
    const { state } = compile([], deckhouseCluster());
    expect(() => toNatPolicy(state, 'egress-a', [], { ...ports, virtual: range })).toThrow(
      expect.objectContaining({ code: 'EGW_BAD_INPUT' }),
    );
  });
});
