import type { V1Lease } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../../test/support/apiserver/testing.ts';
import { LeaseClient } from '../k8s/leases.ts';
import { isElectionError } from './errors.ts';
import { KubeLeaseStore, type LeaseApi } from './kube-lease-store.ts';
import { type HolderLiveness, LeaseFence } from './lease-fence.ts';
import { type LeaseSpec, leaseNameFor } from './lease-store.ts';

/** What the client sends (as JSON) and answers; times come back as strings, as the client's do. */
class FakeLeaseApi implements LeaseApi {
  sent: unknown[] = [];
  answer: unknown = null;
  failure: unknown = null;

  async readLease(namespace: string, name: string): Promise<V1Lease | null> {
    this.sent.push({ namespace, name });
    return this.reply();
  }

  async createLease(lease: V1Lease): Promise<V1Lease> {
    this.sent.push(JSON.parse(JSON.stringify(lease)));
    return this.reply() as V1Lease;
  }

  async replaceLease(lease: V1Lease): Promise<V1Lease> {
    this.sent.push(JSON.parse(JSON.stringify(lease)));
    return this.reply() as V1Lease;
  }

  private reply(): V1Lease | null {
    if (this.failure !== null) throw this.failure;
    return this.answer as V1Lease | null;
  }
}

const spec: LeaseSpec = {
  holderIdentity: 'gw-a/1732251151234',
  leaseDurationSeconds: 2,
  acquireTime: new Date('2026-01-01T00:00:00.123Z'),
  renewTime: new Date('2026-01-01T00:00:01.456Z'),
  leaseTransitions: 3,
};

const stored = {
  apiVersion: 'coordination.k8s.io/v1',
  kind: 'Lease',
  metadata: { name: 'egressgw-x', namespace: 'egressgw', resourceVersion: '42' },
  spec: {
    holderIdentity: 'gw-a/1732251151234',
    leaseDurationSeconds: 2,
    acquireTime: '2026-01-01T00:00:00.123000Z',
    renewTime: '2026-01-01T00:00:01.456000Z',
    leaseTransitions: 3,
  },
};

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('KubeLeaseStore', () => {
  it('writes a coordination.k8s.io/v1 Lease with microsecond times and the precondition', async () => {
    const api = new FakeLeaseApi();
    api.answer = stored;
    const store = new KubeLeaseStore(api, 'egressgw');
    await store.replace('egressgw-x', spec, '41');
    expect(api.sent).toEqual([
      {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: {
          name: 'egressgw-x',
          namespace: 'egressgw',
          resourceVersion: '41',
          labels: {
            'app.kubernetes.io/managed-by': 'egressgw',
            'app.kubernetes.io/component': 'election',
          },
        },
        spec: {
          holderIdentity: 'gw-a/1732251151234',
          leaseDurationSeconds: 2,
          acquireTime: '2026-01-01T00:00:00.123000Z',
          renewTime: '2026-01-01T00:00:01.456000Z',
          leaseTransitions: 3,
        },
      },
    ]);
  });

  it('creates without a resourceVersion and releases without a holder', async () => {
    const api = new FakeLeaseApi();
    api.answer = stored;
    const store = new KubeLeaseStore(api, 'egressgw');
    await store.create('egressgw-x', spec);
    await store.replace('egressgw-x', { ...spec, holderIdentity: null }, '42');
    const [created, released] = api.sent as V1Lease[];
    expect(created?.metadata).not.toHaveProperty('resourceVersion');
    expect(released?.spec).not.toHaveProperty('holderIdentity');
  });

  it('reads the server form back into a record', async () => {
    const api = new FakeLeaseApi();
    api.answer = stored;
    const store = new KubeLeaseStore(api, 'egressgw');
    expect(await store.read('egressgw-x')).toEqual({
      ...spec,
      name: 'egressgw-x',
      resourceVersion: '42',
    });
    api.answer = {
      metadata: { name: 'egressgw-x', resourceVersion: '7' },
      spec: { holderIdentity: '' },
    };
    expect(await store.read('egressgw-x')).toEqual({
      name: 'egressgw-x',
      resourceVersion: '7',
      holderIdentity: null,
      leaseDurationSeconds: null,
      acquireTime: null,
      renewTime: null,
      leaseTransitions: 0,
    });
    api.answer = null;
    expect(await store.read('egressgw-x')).toBeNull();
  });

  it('keeps conflicts as conflicts and turns everything else into unavailable', async () => {
    const api = new FakeLeaseApi();
    const store = new KubeLeaseStore(api, 'egressgw');
    api.failure = Object.assign(new Error('409'), { code: 'EGW_LEASE_CONFLICT' });
    expect(
      isElectionError(await failure(store.replace('x', spec, '1')), 'EGW_LEASE_CONFLICT'),
    ).toBe(true);
    api.failure = Object.assign(new Error('connect ECONNREFUSED'), { code: 'EGW_K8S_REQUEST' });
    const error = await failure(store.read('x'));
    expect(isElectionError(error, 'EGW_LEASE_UNAVAILABLE')).toBe(true);
    expect((error as Error).cause).toBe(api.failure);
    api.failure = null;
    api.answer = { metadata: { name: 'x' } };
    expect(isElectionError(await failure(store.read('x')), 'EGW_LEASE_UNAVAILABLE')).toBe(true);
  });
});

describe('KubeLeaseStore against the test API server (CoordinationV1Api)', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await startTestCluster();
  });
  afterAll(async () => {
    await cluster.server.stop();
  });

  /** One agent's store: its own client, as on its own node. */
  const agentStore = (): KubeLeaseStore =>
    new KubeLeaseStore(new LeaseClient(cluster.newKubeConfig()), 'kube-system');

  it('round-trips a Lease with microsecond times and enforces resourceVersion', async () => {
    const store = agentStore();
    const created = await store.create('egressgw-roundtrip', spec);
    expect(created).toMatchObject({ ...spec, name: 'egressgw-roundtrip' });
    expect(await store.read('egressgw-roundtrip')).toEqual(created);
    const replaced = await store.replace(
      'egressgw-roundtrip',
      { ...spec, holderIdentity: null },
      created.resourceVersion,
    );
    expect(replaced.holderIdentity).toBeNull();
    const stale = await failure(store.replace('egressgw-roundtrip', spec, created.resourceVersion));
    expect(isElectionError(stale, 'EGW_LEASE_CONFLICT')).toBe(true);
    const again = await failure(store.create('egressgw-roundtrip', spec));
    expect(isElectionError(again, 'EGW_LEASE_CONFLICT')).toBe(true);
    const gone = await failure(store.replace('egressgw-missing', spec, '1'));
    expect(isElectionError(gone, 'EGW_LEASE_CONFLICT')).toBe(true);
  });

  it('fences two agents: one acquires, the other waits, takes it when fenced, and the loser notices', async () => {
    let now = 0;
    const dead = new Map<string, number>();
    const liveness: HolderLiveness = {
      aliveIncarnation: () => null,
      deadSince: (node) => dead.get(node) ?? null,
    };
    const fence = (node: string) =>
      new LeaseFence({ store: agentStore(), node, incarnation: 7, now: () => now });
    const a = fence('gw-a');
    const b = fence('gw-b');
    const key = 'EgressGateway/apiserver';
    const [ra, rb] = await Promise.all([a.acquire(key, liveness), b.acquire(key, liveness)]);
    expect([ra.acquired, rb.acquired].sort()).toEqual([false, true]);
    const [winner, loser, loserName] = ra.acquired ? [a, b, 'gw-b'] : [b, a, 'gw-a'];
    const winnerName = loserName === 'gw-a' ? 'gw-b' : 'gw-a';
    now = 500;
    expect(await winner.renew(key)).toBe(true);
    expect((await loser.acquire(key, liveness)).acquired).toBe(false);
    dead.set(winnerName, 500);
    now = 650;
    expect(await loser.acquire(key, liveness)).toEqual({
      acquired: true,
      previousHolder: winnerName,
    });
    expect(await winner.renew(key)).toBe(false);
    const lease = await agentStore().read(leaseNameFor(key));
    expect(lease).toMatchObject({ holderIdentity: `${loserName}/7`, leaseTransitions: 1 });
  });
});
