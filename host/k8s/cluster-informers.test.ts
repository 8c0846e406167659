import { CustomObjectsApi } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultKinds } from '../../test/support/apiserver/kinds.ts';
import {
  eventually,
  startTestCluster,
  type TestCluster,
} from '../../test/support/apiserver/testing.ts';
import { ClusterInformers } from './cluster-informers.ts';

const FAST = { watchdogMs: 1_000, retryInitialMs: 20, retryMaxMs: 100, maxReconnectDelayMs: 50 };

describe('ClusterInformers', () => {
  let cluster: TestCluster | undefined;
  let informers: ClusterInformers | undefined;

  afterEach(async () => {
    await informers?.stop();
    await cluster?.server.stop();
    informers = undefined;
    cluster = undefined;
  });

  it('runs informers for both egress APIs when both are served', async () => {
    cluster = await startTestCluster();
    informers = new ClusterInformers(cluster.kc, { informer: FAST });
    const changes: string[] = [];
    informers.onChange((kind, key) => changes.push(`${kind}:${key}`));
    await informers.start();
    await informers.waitForSync(3_000);
    expect(informers.served).toEqual({ deckhouse: true, antrea: 'v1beta1' });
    expect(informers.all().map(([name]) => name)).toEqual([
      'nodes',
      'pods',
      'namespaces',
      'egressGateways',
      'egressGatewayPolicies',
      'egresses',
      'externalIPPools',
    ]);
    expect(informers.synced).toBe(true);
    expect(informers.connected).toBe(true);
    expect(changes).toContain('namespaces:kube-system');

    await cluster.kc.makeApiClient(CustomObjectsApi).createClusterCustomObject({
      group: 'crd.antrea.io',
      version: 'v1alpha2',
      plural: 'egresses',
      body: {
        apiVersion: 'crd.antrea.io/v1alpha2',
        kind: 'Egress',
        metadata: { name: 'e' },
        spec: {},
      },
    });
    await eventually('Egress seen', () => changes.includes('egresses:e'));
    expect(informers.egresses?.getByName('e')?.apiVersion).toBe('crd.antrea.io/v1beta1');
  });

  it('reads Antrea at v1alpha2 and skips Deckhouse when only those are served', async () => {
    cluster = await startTestCluster({
      kinds: defaultKinds
        .filter((k) => k.group !== 'network.deckhouse.io')
        .map((k) => (k.group === 'crd.antrea.io' ? { ...k, versions: ['v1alpha2'] } : k)),
    });
    informers = new ClusterInformers(cluster.kc, { informer: FAST });
    await informers.start();
    await informers.waitForSync(3_000);
    expect(informers.served).toEqual({ deckhouse: false, antrea: 'v1alpha2' });
    expect(informers.egressGateways).toBeUndefined();
    expect(informers.externalIPPools?.kind.version).toBe('v1alpha2');
  });

  it('waits for the API server to answer discovery', async () => {
    cluster = await startTestCluster();
    cluster.server.setUnavailable(300);
    informers = new ClusterInformers(cluster.kc, { informer: FAST });
    const started = informers.start();
    expect(informers.synced).toBe(false);
    await started;
    await informers.waitForSync(3_000);
    expect(informers.served?.deckhouse).toBe(true);
  });
});
