import { CoreV1Api, PatchStrategy } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  eventually,
  startTestCluster,
  type TestCluster,
} from '../../test/support/apiserver/testing.ts';
import { ClusterInformers } from '../k8s/cluster-informers.ts';
import { requestOptions } from '../k8s/request-options.ts';
import { KubeSource } from './kube-source.ts';
import { INTERFACES_ANNOTATION } from './node-interfaces-annotation.ts';

const FAST = { watchdogMs: 1_000, retryInitialMs: 20, retryMaxMs: 100, maxReconnectDelayMs: 50 };

function readyNode(name: string, address: string, annotations: Record<string, string> = {}) {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { role: 'egress' }, annotations },
    status: {
      conditions: [{ type: 'Ready', status: 'True' }],
      addresses: [
        { type: 'InternalIP', address },
        { type: 'Hostname', address: name },
      ],
    },
  };
}

function runningPod(name: string, ip: string, labels: Record<string, string> = {}) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels },
    spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'x' }] },
    status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] },
  };
}

/** Not a valid EgressGateway (no spec.nodeSelector, a string where a list goes). */
const brokenGateway = {
  apiVersion: 'network.deckhouse.io/v1alpha1',
  kind: 'EgressGateway',
  metadata: { name: 'broken' },
  spec: { sourceIP: 'nonsense', extra: [1, 2] },
};

describe('KubeSource', () => {
  let cluster: TestCluster | undefined;
  let informers: ClusterInformers | undefined;
  let source: KubeSource | undefined;

  afterEach(async () => {
    source?.stop();
    await informers?.stop();
    await cluster?.server.stop();
    source = undefined;
    informers = undefined;
    cluster = undefined;
  });

  async function start(seed: Record<string, unknown>[], debounceMs = 50) {
    cluster = await startTestCluster();
    for (const obj of seed) cluster.server.seed(obj);
    informers = new ClusterInformers(cluster.kc, { informer: FAST });
    const log = { warn: vi.fn() };
    source = new KubeSource(informers, {
      log: log as unknown as Pick<Logger, 'warn'>,
      debounceMs,
    });
    const changes = vi.fn();
    source.onChange(changes);
    expect(source.current()).toBeNull();
    await informers.start();
    return { source, informers, changes, log, api: cluster.kc.makeApiClient(CoreV1Api) };
  }

  it('gives a snapshot once synced and a new one when a pod is added or labelled', async () => {
    const { source, changes, api } = await start(
      [
        readyNode('n1', '10.0.0.1', {
          [INTERFACES_ANNOTATION]: '[{"name":"eth0","addresses":["10.0.0.1/24"]}]',
        }),
        runningPod('web-1', '10.244.0.5', { app: 'web' }),
        brokenGateway,
      ],
      200,
    );
    await eventually('first notification', () => changes.mock.calls.length === 1);
    const first = source.current();
    expect(first).not.toBeNull();
    expect(first?.nodes).toEqual([
      {
        name: 'n1',
        labels: { role: 'egress' },
        ready: true,
        unschedulable: false,
        addresses: ['10.0.0.1'],
        interfaces: [{ name: 'eth0', addresses: ['10.0.0.1/24'] }],
        podCIDRs: [],
      },
    ]);
    expect(first?.pods).toEqual([
      {
        namespace: 'default',
        name: 'web-1',
        labels: { app: 'web' },
        ip: '10.244.0.5',
        nodeName: 'n1',
        phase: 'Running',
        hostNetwork: false,
        ready: false,
      },
    ]);
    expect(first?.namespaces.map((n) => n.name)).toEqual([
      'default',
      'kube-node-lease',
      'kube-public',
      'kube-system',
    ]);
    // The invalid object is passed through as written: compile() reports on it.
    expect(first?.objects).toHaveLength(1);
    expect(first?.objects[0]).toMatchObject(brokenGateway);
    // Asking again without a change gives the same snapshot object.
    expect(source.current()).toBe(first);

    // A burst of pods is one notification.
    await Promise.all(
      ['a', 'b', 'c'].map((name) =>
        api.createNamespacedPod({
          namespace: 'default',
          body: runningPod(`burst-${name}`, '10.244.0.9'),
        }),
      ),
    );
    await eventually('burst seen', () => changes.mock.calls.length === 2);
    expect(source.current()?.pods.map((p) => p.name)).toEqual([
      'burst-a',
      'burst-b',
      'burst-c',
      'web-1',
    ]);
    await new Promise((r) => setTimeout(r, 300));
    expect(changes).toHaveBeenCalledTimes(2);

    await api.patchNamespacedPod(
      { namespace: 'default', name: 'burst-a', body: { metadata: { labels: { app: 'web' } } } },
      requestOptions({ contentType: PatchStrategy.MergePatch }),
    );
    await eventually('label seen', () => changes.mock.calls.length === 3);
    expect(source.current()?.pods.find((p) => p.name === 'burst-a')?.labels).toEqual({
      app: 'web',
    });
  });

  it('keeps the last snapshot while the API server is away', async () => {
    const { source, informers, changes } = await start([
      readyNode('n1', '10.0.0.1'),
      runningPod('web-1', '10.244.0.5'),
    ]);
    await eventually('first notification', () => changes.mock.calls.length === 1);
    const before = structuredClone(source.current());
    await cluster?.server.stop();
    await eventually('disconnected', () => !informers.connected);
    expect(source.current()).toEqual(before);
    expect(source.current()?.pods).toHaveLength(1);
  });

  it('leaves out malformed core objects and unknown interfaces, with one warning each', async () => {
    const { source, changes, log, api } = await start([
      readyNode('n1', '10.0.0.1', { [INTERFACES_ANNOTATION]: '[{"name":"eth0"}]' }),
      {
        ...runningPod('bad-phase', '10.244.0.6'),
        status: { phase: 'Exploded', podIP: '10.244.0.6' },
      },
      runningPod('good', '10.244.0.7'),
    ]);
    await eventually('first notification', () => changes.mock.calls.length === 1);
    const snapshot = source.current();
    expect(snapshot?.nodes.map((n) => [n.name, n.interfaces])).toEqual([['n1', null]]);
    expect(snapshot?.pods.map((p) => p.name)).toEqual(['good']);
    const warned = () => log.warn.mock.calls.map((call) => (call[0] as { name: string }).name);
    expect(warned().sort()).toEqual(['default/bad-phase', 'n1']);
    expect(JSON.stringify(log.warn.mock.calls)).toContain('addresses: must be a list');

    // Unrelated changes do not repeat the warnings.
    await api.createNamespacedPod({ namespace: 'default', body: runningPod('x', '10.244.0.8') });
    await eventually('pod seen', () => changes.mock.calls.length === 2);
    source.current();
    expect(log.warn).toHaveBeenCalledTimes(2);
  });

  it('stays null until every informer has synced', async () => {
    cluster = await startTestCluster();
    cluster.server.setUnavailable();
    informers = new ClusterInformers(cluster.kc, {
      informer: FAST,
      served: { deckhouse: true, antrea: 'v1beta1' },
    });
    source = new KubeSource(informers, { log: { warn: vi.fn() } as unknown as Logger });
    const changes = vi.fn();
    source.onChange(changes);
    await informers.start();
    await new Promise((r) => setTimeout(r, 200));
    expect(source.current()).toBeNull();
    expect(changes).not.toHaveBeenCalled();
    cluster.server.setAvailable();
    await eventually('synced and notified', () => changes.mock.calls.length === 1);
    expect(source.current()?.namespaces.length).toBe(4);
  });
});
