import { describe, expect, it } from 'vitest';
import { resolveEgress } from '../dataplane/reference/resolve-egress.ts';
import { formatIPv4, parseIPv4 } from '../model/cidr.ts';
import { compile } from './compile.ts';
import { deckhouseCluster } from './fixtures/cluster.ts';
import { toNatPolicy } from './nat-policy.ts';
import { compareClaimants } from './ordering.ts';

/**
 * Precedence where one pod matches several rules, end to end: compile both APIs, take the
 * gateway node's NatPolicy, and resolve packets with the dataplane's reference resolver
 * (the same definition the core implements). All groups are active on egress-a so that
 * one NatPolicy holds every rule.
 */

const backendPod = '10.244.1.10'; // default/backend-1, app=backend

function gateway(name: string, vip: string) {
  return {
    apiVersion: 'network.deckhouse.io/v1alpha1',
    kind: 'EgressGateway',
    metadata: { name },
    spec: {
      nodeSelector: { 'node-role.deckhouse.io/egress': '' },
      sourceIP: { mode: 'VirtualIPAddress', virtualIPAddress: { ip: vip } },
    },
  };
}

function policy(name: string, gatewayName: string, spec: Record<string, unknown> = {}) {
  return {
    apiVersion: 'network.deckhouse.io/v1alpha1',
    kind: 'EgressGatewayPolicy',
    metadata: { name },
    spec: {
      destinationCIDRs: ['0.0.0.0/0'],
      egressGatewayName: gatewayName,
      selectors: [{ podSelector: { matchLabels: { app: 'backend' } } }],
      ...spec,
    },
  };
}

/** A static Egress on egress-a's secondary address on eth1, or another address it holds. */
function egress(name: string, ip: string) {
  return {
    apiVersion: 'crd.antrea.io/v1beta1',
    kind: 'Egress',
    metadata: { name },
    spec: { appliedTo: { podSelector: { matchLabels: { app: 'backend' } } }, egressIP: ip },
  };
}

function cluster() {
  const inputs = deckhouseCluster({
    chooseActive: (_key, suitable) => (suitable.includes('egress-a') ? 'egress-a' : null),
  });
  inputs.nodes[0]!.interfaces!.push({
    name: 'eth2',
    addresses: ['172.18.19.5/24', '172.18.19.6/24'],
  });
  return inputs;
}

/** The address the backend pod's packet to `destination` leaves with, or null. */
function leavesAs(objects: unknown[], destination: string): string | null {
  const inputs = cluster();
  const { state } = compile(objects, inputs);
  const policyForNode = toNatPolicy(state, 'egress-a', inputs.nodes[0]!.interfaces!, {
    nodeOwned: { portMin: 1024, portMax: 32767 },
    virtual: { portMin: 1024, portMax: 65535 },
  });
  const index = resolveEgress(policyForNode, parseIPv4(backendPod), parseIPv4(destination));
  return index < 0 ? null : formatIPv4(parseIPv4(policyForNode.egress[index]!.ip));
}

describe('rule precedence', () => {
  it('equal destinations: the Deckhouse policy before the Antrea Egress', () => {
    const objects = [
      egress('a-egress', '172.18.19.5'),
      gateway('gw', '172.18.18.242'),
      policy('z-policy', 'gw'),
    ];
    expect(compile(objects, cluster()).state.rules.map((r) => r.id)).toEqual([
      'EgressGatewayPolicy/z-policy',
      'Egress/a-egress',
    ]);
    expect(leavesAs(objects, '8.8.8.8')).toBe('172.18.18.242');
  });

  it('a more specific destination wins whatever the API', () => {
    const objects = [
      egress('e', '172.18.19.5'),
      gateway('gw', '172.18.18.242'),
      policy('p', 'gw', { destinationCIDRs: ['203.0.113.0/24'] }),
    ];
    expect(leavesAs(objects, '203.0.113.5')).toBe('172.18.18.242');
    expect(leavesAs(objects, '8.8.8.8')).toBe('172.18.19.5');
  });

  it('excludedCIDRs hand the destination to the next rule', () => {
    const objects = [
      egress('e', '172.18.19.5'),
      gateway('gw', '172.18.18.242'),
      policy('p', 'gw', { excludedCIDRs: ['8.8.8.0/24'] }),
    ];
    expect(leavesAs(objects, '8.8.8.8')).toBe('172.18.19.5');
    expect(leavesAs(objects, '1.1.1.1')).toBe('172.18.18.242');
  });

  it('within one API, by name', () => {
    const policies = [
      gateway('gw-1', '172.18.18.242'),
      gateway('gw-2', '172.18.18.243'),
      policy('b-policy', 'gw-1'),
      policy('a-policy', 'gw-2'),
    ];
    expect(leavesAs(policies, '8.8.8.8')).toBe('172.18.18.243');
    const egresses = [egress('z', '172.18.19.5'), egress('m', '172.18.19.6')];
    expect(leavesAs(egresses, '8.8.8.8')).toBe('172.18.19.6');
  });

  it('cluster destinations are never translated', () => {
    const objects = [gateway('gw', '172.18.18.242'), policy('p', 'gw')];
    expect(leavesAs(objects, '10.96.0.10')).toBeNull();
    expect(leavesAs(objects, '10.244.7.7')).toBeNull();
    expect(leavesAs(objects, '10.0.0.21')).toBeNull();
  });
});

describe('claim order', () => {
  it('older first; no timestamp after any timestamp; then gateways before Egresses; then name', () => {
    const claimants = [
      { kind: 'Egress' as const, name: 'b', creationTimestamp: undefined },
      { kind: 'Egress' as const, name: 'a', creationTimestamp: undefined },
      { kind: 'EgressGateway' as const, name: 'z', creationTimestamp: undefined },
      { kind: 'Egress' as const, name: 'new', creationTimestamp: '2026-02-01T00:00:00Z' },
      { kind: 'Egress' as const, name: 'old', creationTimestamp: '2026-01-01T00:00:00Z' },
      { kind: 'Egress' as const, name: 'bad-time', creationTimestamp: 'yesterday' },
    ];
    expect([...claimants].sort(compareClaimants).map((c) => c.name)).toEqual([
      'old',
      'new',
      'z',
      'a',
      'b',
      'bad-time',
    ]);
  });
});
