import { describe, expect, it } from 'vitest';
import { seedObject } from '../api/fixtures/seed-objects.ts';
import { type CompileResult, compile, type ObjectStatus } from './compile.ts';
import type { StatusCondition } from './conditions.ts';
import { clusterCIDRs, deckhouseCluster, node } from './fixtures/cluster.ts';

const seed = 'deckhouse-seed.en.yaml';
const primaryGateway = () => structuredClone(seedObject(seed, 'EgressGateway', 'egress-gw', 0));
const vipGateway = () => structuredClone(seedObject(seed, 'EgressGateway', 'egress-gw', 1));
const policy = () => structuredClone(seedObject(seed, 'EgressGatewayPolicy', 'egress-gw-policy'));

function statusOf<K extends ObjectStatus['kind']>(
  result: CompileResult,
  kind: K,
  name: string,
): Extract<ObjectStatus, { kind: K }> {
  const found = result.statuses.find((s) => s.kind === kind && s.name === name);
  if (found === undefined) throw new Error(`no status for ${kind} ${name}`);
  return found as Extract<ObjectStatus, { kind: K }>;
}

function conditionOf(status: { conditions?: StatusCondition[] }, type: string) {
  return status.conditions?.find((c) => c.type === type);
}

describe('Deckhouse seed: PrimaryIPFromEgressGatewayNodeInterface', () => {
  const result = compile([primaryGateway(), policy()], deckhouseCluster());

  it('one primary-ip group on the labelled nodes, active on the chosen one', () => {
    expect(result.state.groups).toEqual([
      {
        key: 'EgressGateway/egress-gw',
        mode: 'primary-ip',
        egressIP: null,
        interfaceName: 'eth1',
        candidates: ['egress-a', 'egress-b'],
        suitable: ['egress-a', 'egress-b'],
        activeNode: 'egress-a',
      },
    ]);
  });

  it('the policy takes running app=backend pods in default, sorted by address', () => {
    // Not: frontend (labels), prod/backend (namespace), pending (no IP), done (not
    // running), host-network (the node's own address).
    expect(result.state.rules).toEqual([
      {
        id: 'EgressGatewayPolicy/egress-gw-policy',
        group: 'EgressGateway/egress-gw',
        sources: ['10.244.1.9', '10.244.1.10'],
        placement: { '10.244.1.9': 'worker-1', '10.244.1.10': 'worker-1' },
        destinations: ['0.0.0.0/0'],
        excluded: clusterCIDRs,
      },
    ]);
    expect(result.state.clusterCIDRs).toEqual(clusterCIDRs);
  });

  it('the gateway’s status says which node and which IP (the primary address of eth1)', () => {
    const { status, events } = statusOf(result, 'EgressGateway', 'egress-gw');
    expect(status).toEqual({
      activeNode: 'egress-a',
      egressIP: '172.18.18.11',
      readyNodes: 2,
      conditions: [
        { type: 'Valid', status: 'True', reason: 'Valid', message: 'the spec is valid' },
        {
          type: 'Ready',
          status: 'True',
          reason: 'Active',
          message: 'egress-a translates as 172.18.18.11; standby egress-b',
        },
      ],
    });
    expect(events).toEqual([]);
  });

  it('the policy’s status says how many pods leave where', () => {
    const { status } = statusOf(result, 'EgressGatewayPolicy', 'egress-gw-policy');
    expect(conditionOf(status, 'Ready')).toEqual({
      type: 'Ready',
      status: 'True',
      reason: 'Active',
      message:
        '2 selected pods: traffic leaves through EgressGateway egress-gw on egress-a as 172.18.18.11',
    });
  });

  it('observedGeneration follows metadata.generation', () => {
    const gateway = primaryGateway();
    (gateway.metadata as Record<string, unknown>).generation = 7;
    const { status } = statusOf(
      compile([gateway], deckhouseCluster()),
      'EgressGateway',
      'egress-gw',
    );
    expect(status.observedGeneration).toBe(7);
  });

  it('the source IP changes with the active node (the seed: it changes on failover)', () => {
    const inputs = deckhouseCluster();
    inputs.nodes[0]!.ready = false;
    const failed = compile([primaryGateway(), policy()], inputs);
    const { status } = statusOf(failed, 'EgressGateway', 'egress-gw');
    expect(status).toMatchObject({
      activeNode: 'egress-b',
      egressIP: '172.18.18.12',
      readyNodes: 1,
    });
    expect(conditionOf(status, 'Ready')?.message).toBe(
      'egress-b translates as 172.18.18.12; no standby node; not suitable: egress-a (NotReady)',
    );
  });

  it('the stronghold variant selects nodes by dedicated/egress', () => {
    const gateway = structuredClone(
      seedObject('deckhouse-stronghold-seed.en.yaml', 'EgressGateway', 'egress-gw', 0),
    );
    const inputs = deckhouseCluster();
    inputs.nodes.push(node('stronghold-1', { labels: { 'dedicated/egress': '' } }));
    inputs.liveAgents = new Set([...inputs.liveAgents, 'stronghold-1']);
    const result2 = compile([gateway], inputs);
    expect(result2.state.groups[0]).toMatchObject({
      candidates: ['stronghold-1'],
      activeNode: 'stronghold-1',
    });
    // Its interfaces are not known yet: active, but the address is not known either.
    expect(statusOf(result2, 'EgressGateway', 'egress-gw').status.egressIP).toBeUndefined();
    expect(
      conditionOf(statusOf(result2, 'EgressGateway', 'egress-gw').status, 'Ready')?.message,
    ).toBe('stronghold-1 translates as its primary IPv4 on eth1; no standby node');
  });
});

describe('Deckhouse seed: VirtualIPAddress', () => {
  it('a virtual-ip group whose address does not change on failover', () => {
    const before = compile([vipGateway(), policy()], deckhouseCluster());
    expect(before.state.groups[0]).toMatchObject({
      mode: 'virtual-ip',
      egressIP: '172.18.18.242',
      interfaceName: null,
      activeNode: 'egress-a',
    });
    const inputs = deckhouseCluster();
    inputs.nodes[0]!.unschedulable = true;
    const after = compile([vipGateway(), policy()], inputs);
    expect(after.state.groups[0]).toMatchObject({
      egressIP: '172.18.18.242',
      activeNode: 'egress-b',
    });
    expect(statusOf(after, 'EgressGateway', 'egress-gw').status).toMatchObject({
      activeNode: 'egress-b',
      egressIP: '172.18.18.242',
    });
  });

  it('a node whose interfaces do not hold the VIP’s subnet is not suitable, with the reason', () => {
    const inputs = deckhouseCluster();
    inputs.nodes[0]!.interfaces = [{ name: 'eth0', addresses: ['10.0.0.11/24'] }];
    const result = compile([vipGateway()], inputs);
    expect(result.state.groups[0]).toMatchObject({
      suitable: ['egress-b'],
      activeNode: 'egress-b',
    });
    expect(
      conditionOf(statusOf(result, 'EgressGateway', 'egress-gw').status, 'Ready')?.message,
    ).toBe(
      'egress-b translates as 172.18.18.242; no standby node; not suitable: egress-a ' +
        '(172.18.18.242 is outside the subnets of its interfaces (eth0 10.0.0.11/24))',
    );
  });

  it('a VIP outside the subnets of every selected node is invalid (VIPOutsideSubnet)', () => {
    const gateway = vipGateway();
    (
      gateway.spec as { sourceIP: { virtualIPAddress: { ip: string } } }
    ).sourceIP.virtualIPAddress.ip = '192.168.50.10';
    const result = compile([gateway, policy()], deckhouseCluster());
    expect(result.state).toEqual({ groups: [], rules: [], clusterCIDRs });
    const { status, events } = statusOf(result, 'EgressGateway', 'egress-gw');
    const message =
      'spec.sourceIP.virtualIPAddress.ip: 192.168.50.10 cannot be placed on any selected node: ' +
      'egress-a: 192.168.50.10 is outside the subnets of its interfaces (eth0 10.0.0.11/24, ' +
      'eth1 172.18.18.11/24, eth1 172.18.18.100/24); egress-b: 192.168.50.10 is outside the ' +
      'subnets of its interfaces (eth0 10.0.0.12/24, eth1 172.18.18.12/24)';
    expect(status).toEqual({
      conditions: [
        { type: 'Valid', status: 'False', reason: 'VIPOutsideSubnet', message },
        {
          type: 'Ready',
          status: 'False',
          reason: 'Invalid',
          message: 'not used until the Valid condition is True',
        },
      ],
    });
    expect(events).toEqual([{ type: 'Warning', reason: 'VIPOutsideSubnet', message }]);
    const policyStatus = statusOf(result, 'EgressGatewayPolicy', 'egress-gw-policy');
    expect(conditionOf(policyStatus.status, 'Ready')).toEqual({
      type: 'Ready',
      status: 'False',
      reason: 'GatewayNotReady',
      message: 'EgressGateway egress-gw is invalid (see its Valid condition)',
    });
    expect(policyStatus.events).toEqual([
      {
        type: 'Warning',
        reason: 'GatewayNotReady',
        message: 'EgressGateway egress-gw is invalid (see its Valid condition)',
      },
    ]);
  });

  it('the VIP check waits until every selected node’s interfaces are known', () => {
    const gateway = vipGateway();
    (
      gateway.spec as { sourceIP: { virtualIPAddress: { ip: string } } }
    ).sourceIP.virtualIPAddress.ip = '192.168.50.10';
    const inputs = deckhouseCluster();
    inputs.nodes[1]!.interfaces = null;
    const result = compile([gateway], inputs);
    expect(result.state.groups[0]).toMatchObject({
      suitable: ['egress-b'],
      activeNode: 'egress-b',
    });
  });
});

describe('Deckhouse: suitability and problems', () => {
  it('no suitable node: Ready False with every node’s reason, and a Warning event', () => {
    const inputs = deckhouseCluster();
    inputs.nodes[0]!.unschedulable = true;
    inputs.liveAgents = new Set(['egress-a']);
    const result = compile([primaryGateway(), policy()], inputs);
    const { status, events } = statusOf(result, 'EgressGateway', 'egress-gw');
    const message =
      'none of the 2 selected nodes is suitable: egress-a (cordoned), ' +
      'egress-b (egressgw agent not ready)';
    expect(status).toEqual({
      readyNodes: 0,
      conditions: [
        { type: 'Valid', status: 'True', reason: 'Valid', message: 'the spec is valid' },
        { type: 'Ready', status: 'False', reason: 'NoSuitableNodes', message },
      ],
    });
    expect(events).toEqual([{ type: 'Warning', reason: 'NoSuitableNodes', message }]);
    // The group and the rule stay in the model, with no active node.
    expect(result.state.groups[0]?.activeNode).toBeNull();
    expect(result.state.rules).toHaveLength(1);
    expect(
      conditionOf(statusOf(result, 'EgressGatewayPolicy', 'egress-gw-policy').status, 'Ready'),
    ).toEqual({
      type: 'Ready',
      status: 'False',
      reason: 'GatewayNotReady',
      message: `2 selected pods, but EgressGateway egress-gw has no active node: ${message}`,
    });
  });

  it('no node matches the selector', () => {
    const gateway = primaryGateway();
    (gateway.spec as { nodeSelector: Record<string, string> }).nodeSelector = { role: 'none' };
    const { status } = statusOf(
      compile([gateway], deckhouseCluster()),
      'EgressGateway',
      'egress-gw',
    );
    expect(conditionOf(status, 'Ready')).toMatchObject({
      reason: 'NoSuitableNodes',
      message: 'no node matches spec.nodeSelector (role=none)',
    });
  });

  it('a node without the interface, or without an IPv4 address on it, is not suitable', () => {
    const inputs = deckhouseCluster();
    inputs.nodes[0]!.interfaces = [{ name: 'eth0', addresses: ['10.0.0.11/24'] }];
    inputs.nodes[1]!.interfaces = [{ name: 'eth1', addresses: ['fe80::1/64'] }];
    const result = compile([primaryGateway()], inputs);
    expect(
      conditionOf(statusOf(result, 'EgressGateway', 'egress-gw').status, 'Ready')?.message,
    ).toBe(
      'none of the 2 selected nodes is suitable: egress-a (no interface eth1), ' +
        'egress-b (no IPv4 address on eth1)',
    );
  });

  it('a policy naming an unknown gateway is invalid (GatewayNotFound)', () => {
    const result = compile([policy()], deckhouseCluster());
    const { status, events } = statusOf(result, 'EgressGatewayPolicy', 'egress-gw-policy');
    const message = 'spec.egressGatewayName: no EgressGateway named egress-gw';
    expect(conditionOf(status, 'Valid')).toEqual({
      type: 'Valid',
      status: 'False',
      reason: 'GatewayNotFound',
      message,
    });
    expect(events).toEqual([{ type: 'Warning', reason: 'GatewayNotFound', message }]);
    expect(result.state.rules).toEqual([]);
  });

  it('two gateways with one VIP: the older keeps it, the newer gets IPConflict', () => {
    const older = vipGateway();
    const newer = vipGateway();
    (older.metadata as Record<string, unknown>) = {
      name: 'zz-old',
      creationTimestamp: '2026-01-01T00:00:00Z',
    };
    (newer.metadata as Record<string, unknown>) = {
      name: 'aa-new',
      creationTimestamp: '2026-02-01T00:00:00Z',
    };
    const result = compile([newer, older], deckhouseCluster());
    expect(result.state.groups.map((g) => g.key)).toEqual(['EgressGateway/zz-old']);
    expect(conditionOf(statusOf(result, 'EgressGateway', 'aa-new').status, 'Valid')).toEqual({
      type: 'Valid',
      status: 'False',
      reason: 'IPConflict',
      message:
        'spec.sourceIP.virtualIPAddress.ip: 172.18.18.242 is already used by EgressGateway/zz-old',
    });
  });
});
