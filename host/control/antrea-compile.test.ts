import { describe, expect, it } from 'vitest';
import { seedObject } from '../api/fixtures/seed-objects.ts';
import { type CompileResult, compile, type ObjectStatus } from './compile.ts';
import { antreaCluster, chooseFrom, clusterCIDRs } from './fixtures/cluster.ts';

const seed = 'antrea-seed.yaml';
const fromSeed = (kind: string, name: string, index = 0) =>
  structuredClone(seedObject(seed, kind, name, index));

// The HA example: one pool, two Egresses for prod and staging.
const haPool = () => fromSeed('ExternalIPPool', 'external-ip-pool');
const haProd = () => fromSeed('Egress', 'egress-prod-web', 1);
const haStaging = () => fromSeed('Egress', 'egress-staging-web');
// The static example.
const staticProd = () => fromSeed('Egress', 'egress-prod');
const staticStaging = () => fromSeed('Egress', 'egress-staging');

function statusOf<K extends ObjectStatus['kind']>(
  result: CompileResult,
  kind: K,
  name: string,
): Extract<ObjectStatus, { kind: K }> {
  const found = result.statuses.find((s) => s.kind === kind && s.name === name);
  if (found === undefined) throw new Error(`no status for ${kind} ${name}`);
  return found as Extract<ObjectStatus, { kind: K }>;
}

/** What `kubectl get egress` would print: NAME EGRESSIP NODE. */
function kubectlGetEgress(result: CompileResult): string[][] {
  return result.statuses
    .filter((s) => s.kind === 'Egress')
    .map((s) => {
      const status = s.status as { egressIP?: string; egressNode?: string };
      return [s.name, status.egressIP ?? '', status.egressNode ?? ''];
    });
}

describe('Antrea seed: highly available Egresses from a pool', () => {
  const inputs = antreaCluster({
    chooseActive: chooseFrom({
      'Egress/egress-prod-web': 'node-4',
      'Egress/egress-staging-web': 'node-6',
    }),
  });
  const result = compile([haPool(), haProd(), haStaging()], inputs);

  it('kubectl get egress shows what the seed shows', () => {
    expect(kubectlGetEgress(result)).toEqual([
      ['egress-prod-web', '10.10.0.11', 'node-4'],
      ['egress-staging-web', '10.10.0.12', 'node-6'],
    ]);
  });

  it('each Egress is a virtual-ip group over all nodes (nodeSelector: {})', () => {
    expect(result.state.groups).toEqual([
      {
        key: 'Egress/egress-prod-web',
        mode: 'virtual-ip',
        egressIP: '10.10.0.11',
        interfaceName: null,
        candidates: ['node-4', 'node-5', 'node-6'],
        suitable: ['node-4', 'node-5', 'node-6'],
        activeNode: 'node-4',
      },
      {
        key: 'Egress/egress-staging-web',
        mode: 'virtual-ip',
        egressIP: '10.10.0.12',
        interfaceName: null,
        candidates: ['node-4', 'node-5', 'node-6'],
        suitable: ['node-4', 'node-5', 'node-6'],
        activeNode: 'node-6',
      },
    ]);
  });

  it('prod app=web pods leave through one, staging app=web pods through the other', () => {
    expect(result.state.rules).toEqual([
      {
        id: 'Egress/egress-prod-web',
        group: 'Egress/egress-prod-web',
        sources: ['10.244.4.2'],
        placement: { '10.244.4.2': 'worker-1' },
        destinations: ['0.0.0.0/0'],
        excluded: clusterCIDRs,
      },
      {
        id: 'Egress/egress-staging-web',
        group: 'Egress/egress-staging-web',
        sources: ['10.244.5.2'],
        placement: { '10.244.5.2': 'worker-1' },
        destinations: ['0.0.0.0/0'],
        excluded: clusterCIDRs,
      },
    ]);
  });

  it('conditions say where the IP came from and where it is', () => {
    expect(statusOf(result, 'Egress', 'egress-prod-web')).toEqual({
      kind: 'Egress',
      name: 'egress-prod-web',
      status: {
        egressIP: '10.10.0.11',
        egressNode: 'node-4',
        conditions: [
          { type: 'Valid', status: 'True', reason: 'Valid', message: 'the spec is valid' },
          {
            type: 'IPAllocated',
            status: 'True',
            reason: 'Allocated',
            message: '10.10.0.11 allocated from ExternalIPPool external-ip-pool',
          },
          {
            type: 'IPAssigned',
            status: 'True',
            reason: 'Assigned',
            message: '10.10.0.11 is on node-4; standby node-5, node-6',
          },
        ],
      },
      events: [],
    });
    expect(statusOf(result, 'ExternalIPPool', 'external-ip-pool').status).toEqual({
      usage: { total: 10, used: 2 },
      conditions: [
        { type: 'Valid', status: 'True', reason: 'Valid', message: 'the spec is valid' },
      ],
    });
  });

  it('when node-4 loses power, 10.10.0.11 moves to another node and stays 10.10.0.11', () => {
    const failed = antreaCluster({ chooseActive: inputs.chooseActive });
    failed.nodes[0]!.ready = false;
    const after = compile([haPool(), haProd(), haStaging()], failed);
    expect(kubectlGetEgress(after)).toEqual([
      ['egress-prod-web', '10.10.0.11', 'node-5'],
      ['egress-staging-web', '10.10.0.12', 'node-6'],
    ]);
  });
});

describe('Antrea seed: static Egresses on the nodes’ own IPs', () => {
  const result = compile([staticProd(), staticStaging()], antreaCluster());

  it('kubectl get egress shows node-4 and node-5, as in the seed', () => {
    expect(kubectlGetEgress(result)).toEqual([
      ['egress-prod', '10.10.0.104', 'node-4'],
      ['egress-staging', '10.10.0.105', 'node-5'],
    ]);
  });

  it('static-ip groups whose candidates are the nodes that hold the address', () => {
    expect(result.state.groups.map((g) => [g.key, g.mode, g.egressIP, g.candidates])).toEqual([
      ['Egress/egress-prod', 'static-ip', '10.10.0.104', ['node-4']],
      ['Egress/egress-staging', 'static-ip', '10.10.0.105', ['node-5']],
    ]);
  });

  it('namespaceSelector alone takes every pod of the namespace', () => {
    expect(result.state.rules.map((r) => [r.id, r.sources])).toEqual([
      ['Egress/egress-prod', ['10.244.4.2', '10.244.4.3']],
      ['Egress/egress-staging', ['10.244.5.2']],
    ]);
  });

  it('no IPAllocated condition without a pool (Antrea: not applicable)', () => {
    const types = statusOf(result, 'Egress', 'egress-prod').status.conditions?.map((c) => c.type);
    expect(types).toEqual(['Valid', 'IPAssigned']);
  });

  it('when node-4 is down the IP has nowhere to go; moving the IP to node-6 restores it', () => {
    const down = antreaCluster();
    down.nodes[0]!.ready = false;
    const { status, events } = statusOf(compile([staticProd()], down), 'Egress', 'egress-prod');
    const message = 'none of the 1 candidate node for 10.10.0.104 is suitable: node-4 (NotReady)';
    expect(status.conditions?.[1]).toEqual({
      type: 'IPAssigned',
      status: 'False',
      reason: 'NoSuitableNodes',
      message,
    });
    expect(events).toEqual([{ type: 'Warning', reason: 'NoSuitableNodes', message }]);

    down.nodes[2]!.interfaces = [{ name: 'eth0', addresses: ['10.10.0.106/24', '10.10.0.104/24'] }];
    expect(kubectlGetEgress(compile([staticProd()], down))).toEqual([
      ['egress-prod', '10.10.0.104', 'node-6'],
    ]);
  });

  it('an address no node holds: NoNodeHoldsIP', () => {
    const egress = staticProd();
    (egress.spec as { egressIP: string }).egressIP = '10.10.0.200';
    const { status } = statusOf(compile([egress], antreaCluster()), 'Egress', 'egress-prod');
    expect(status.conditions?.[1]).toEqual({
      type: 'IPAssigned',
      status: 'False',
      reason: 'NoNodeHoldsIP',
      message:
        'no node has 10.10.0.200 among its addresses; configure it on the node that should serve it',
    });
    expect(status.egressIP).toBe('10.10.0.200');
    expect(status.egressNode).toBeUndefined();
  });
});

describe('Antrea seed: egressIP and externalIPPool together', () => {
  const pool = () => fromSeed('ExternalIPPool', 'prod-external-ip-pool');
  const egress = () => fromSeed('Egress', 'egress-prod-web', 0);

  it('the IP is reserved in the pool and placed on a node of the pool’s nodeSelector', () => {
    const result = compile([pool(), egress()], antreaCluster());
    expect(result.state.groups[0]).toMatchObject({
      key: 'Egress/egress-prod-web',
      mode: 'virtual-ip',
      egressIP: '10.10.0.8',
      candidates: ['node-4', 'node-6'],
      activeNode: 'node-4',
    });
    // env=prod namespaces, role=web pods.
    expect(result.state.rules[0]?.sources).toEqual(['10.244.4.2']);
    const { status } = statusOf(result, 'Egress', 'egress-prod-web');
    expect(status.conditions?.[1]).toEqual({
      type: 'IPAllocated',
      status: 'True',
      reason: 'Allocated',
      message: '10.10.0.8 (spec.egressIP) is reserved in ExternalIPPool prod-external-ip-pool',
    });
    // 10.10.0.2-10.10.0.10 gives 9, 10.10.1.0/28 gives 14 (no network, no broadcast).
    expect(statusOf(result, 'ExternalIPPool', 'prod-external-ip-pool').status.usage).toEqual({
      total: 23,
      used: 1,
    });
  });

  it('an IP outside the pool is invalid (IPNotInPool), the pool is untouched', () => {
    const outside = egress();
    (outside.spec as { egressIP: string }).egressIP = '10.10.1.15'; // the /28's broadcast
    const result = compile([pool(), outside], antreaCluster());
    const { status, events } = statusOf(result, 'Egress', 'egress-prod-web');
    const message =
      'spec.egressIP: 10.10.1.15 is not a usable address of ExternalIPPool prod-external-ip-pool ' +
      '(10.10.0.2-10.10.0.10, 10.10.1.0/28)';
    expect(status.conditions).toEqual([
      { type: 'Valid', status: 'False', reason: 'IPNotInPool', message },
      {
        type: 'IPAssigned',
        status: 'False',
        reason: 'Invalid',
        message: 'not used until the Valid condition is True',
      },
    ]);
    expect(events).toEqual([{ type: 'Warning', reason: 'IPNotInPool', message }]);
    expect(result.state).toEqual({ groups: [], rules: [], clusterCIDRs });
    expect(statusOf(result, 'ExternalIPPool', 'prod-external-ip-pool').status.usage?.used).toBe(0);
  });

  it('a pool that does not exist (PoolNotFound)', () => {
    const { status } = statusOf(compile([egress()], antreaCluster()), 'Egress', 'egress-prod-web');
    expect(status.conditions?.[0]).toEqual({
      type: 'Valid',
      status: 'False',
      reason: 'PoolNotFound',
      message: 'spec.externalIPPool: no ExternalIPPool named prod-external-ip-pool',
    });
  });

  it('a pool that is invalid (PoolInvalid): the Egress is valid but gets no IP', () => {
    const broken = pool();
    (broken.spec as { ipRanges: unknown[] }).ipRanges.push({
      start: '10.10.0.9',
      end: '10.10.0.12',
    });
    const result = compile([broken, egress()], antreaCluster());
    const { status, events } = statusOf(result, 'Egress', 'egress-prod-web');
    const message = 'ExternalIPPool prod-external-ip-pool is invalid (see its Valid condition)';
    expect(status.conditions).toEqual([
      { type: 'Valid', status: 'True', reason: 'Valid', message: 'the spec is valid' },
      { type: 'IPAllocated', status: 'False', reason: 'PoolInvalid', message },
    ]);
    expect(events).toEqual([{ type: 'Warning', reason: 'PoolInvalid', message }]);
    expect(statusOf(result, 'ExternalIPPool', 'prod-external-ip-pool').status).toEqual({
      conditions: [
        {
          type: 'Valid',
          status: 'False',
          reason: 'OverlappingRanges',
          message:
            'spec.ipRanges[0] (10.10.0.2-10.10.0.10) and spec.ipRanges[2] (10.10.0.9-10.10.0.12) overlap at 10.10.0.9',
        },
      ],
    });
  });

  it('no node matches the pool’s nodeSelector', () => {
    const inputs = antreaCluster();
    for (const n of inputs.nodes) n.labels = {};
    const { status } = statusOf(compile([pool(), egress()], inputs), 'Egress', 'egress-prod-web');
    expect(status.conditions?.[2]).toEqual({
      type: 'IPAssigned',
      status: 'False',
      reason: 'NoSuitableNodes',
      message: 'no node matches the nodeSelector of ExternalIPPool prod-external-ip-pool',
    });
  });
});
