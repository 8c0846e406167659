import { type V1Lease, V1MicroTime } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../../test/support/apiserver/testing.ts';
import { LeaseClient } from './leases.ts';

function lease(holder: string, resourceVersion?: string): V1Lease {
  return {
    metadata: {
      name: 'egw-gateway-a',
      namespace: 'kube-system',
      ...(resourceVersion ? { resourceVersion } : {}),
    },
    spec: {
      holderIdentity: holder,
      leaseDurationSeconds: 3,
      renewTime: new V1MicroTime(),
    },
  };
}

describe('LeaseClient', () => {
  let cluster: TestCluster;
  let a: LeaseClient;
  let b: LeaseClient;

  beforeAll(async () => {
    cluster = await startTestCluster();
    // Two independent clients, as two agents on two nodes.
    a = new LeaseClient(cluster.newKubeConfig());
    b = new LeaseClient(cluster.newKubeConfig());
  });
  afterAll(async () => {
    await cluster.server.stop();
  });

  it('reads null for a missing Lease', async () => {
    expect(await a.readLease('kube-system', 'nothing-here')).toBeNull();
  });

  it('lets exactly one of two racing creates win', async () => {
    const results = await Promise.allSettled([
      a.createLease(lease('node-a')),
      b.createLease(lease('node-b')),
    ]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect((lost[0] as PromiseRejectedResult).reason).toMatchObject({
      code: 'EGW_LEASE_CONFLICT',
      httpStatus: 409,
    });
    const stored = await a.readLease('kube-system', 'egw-gateway-a');
    const winner = (won[0] as PromiseFulfilledResult<V1Lease>).value;
    expect(stored?.spec?.holderIdentity).toBe(winner.spec?.holderIdentity);
  });

  it('lets exactly one of two replaces from the same read win, round after round', async () => {
    for (let round = 0; round < 5; round++) {
      const seenA = (await a.readLease('kube-system', 'egw-gateway-a'))!;
      const seenB = (await b.readLease('kube-system', 'egw-gateway-a'))!;
      expect(seenA.metadata?.resourceVersion).toBe(seenB.metadata?.resourceVersion);
      const results = await Promise.allSettled([
        a.replaceLease({
          ...seenA,
          spec: { ...seenA.spec, holderIdentity: `node-a-${round}`, renewTime: new V1MicroTime() },
        }),
        b.replaceLease({
          ...seenB,
          spec: { ...seenB.spec, holderIdentity: `node-b-${round}`, renewTime: new V1MicroTime() },
        }),
      ]);
      const won = results.filter(
        (r) => r.status === 'fulfilled',
      ) as PromiseFulfilledResult<V1Lease>[];
      const lost = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
      expect(won).toHaveLength(1);
      expect(lost[0]?.reason).toMatchObject({ code: 'EGW_LEASE_CONFLICT' });
      const stored = await a.readLease('kube-system', 'egw-gateway-a');
      expect(stored?.spec?.holderIdentity).toBe(won[0]!.value.spec?.holderIdentity);
      expect(Number(stored?.metadata?.resourceVersion)).toBeGreaterThan(
        Number(seenA.metadata?.resourceVersion),
      );
    }
  });

  it('refuses an unfenced replace and reports a stale one as a conflict', async () => {
    await expect(a.replaceLease(lease('node-a'))).rejects.toMatchObject({
      code: 'EGW_LEASE_UNFENCED',
    });
    await expect(a.replaceLease(lease('node-a', '1'))).rejects.toMatchObject({
      code: 'EGW_LEASE_CONFLICT',
      httpStatus: 409,
    });
  });

  it('writes acquireTime and renewTime at microsecond precision, even from a plain Date', async () => {
    const seen = (await a.readLease('kube-system', 'egw-gateway-a'))!;
    const at = new Date('2026-03-04T05:06:07.891Z');
    await a.replaceLease({ ...seen, spec: { ...seen.spec, acquireTime: at, renewTime: at } });
    const stored = cluster.server.store.get(
      'leases.coordination.k8s.io',
      'kube-system',
      'egw-gateway-a',
    );
    const spec = stored?.['spec'] as { renewTime?: string; acquireTime?: string };
    expect(spec.renewTime).toBe('2026-03-04T05:06:07.891000Z');
    expect(spec.acquireTime).toBe('2026-03-04T05:06:07.891000Z');
    await a.createLease({
      metadata: { name: 'plain-date', namespace: 'kube-system' },
      spec: { holderIdentity: 'x', renewTime: at },
    });
  });
});
