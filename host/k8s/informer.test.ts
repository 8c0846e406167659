import { CoreV1Api, CustomObjectsApi, type V1Node } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  eventually,
  startTestCluster,
  type TestCluster,
} from '../../test/support/apiserver/testing.ts';
import { ResilientInformer } from './informer.ts';
import { egressGatewayKind, nodeKind, podKind } from './kinds.ts';

/** Short bounds so that every recovery path runs in well under a second. */
const FAST = {
  watchdogMs: 400,
  requestTimeoutMs: 1_000,
  retryInitialMs: 20,
  retryMaxMs: 100,
  maxReconnectDelayMs: 50,
};

interface Recorded {
  verb: string;
  key: string;
  rv: string | undefined;
}

function record<T extends V1Node>(inf: ResilientInformer<T>): Recorded[] {
  const log: Recorded[] = [];
  for (const verb of ['add', 'update', 'delete'] as const) {
    inf.on(verb, (key, obj) => log.push({ verb, key, rv: obj.metadata?.resourceVersion }));
  }
  return log;
}

function node(name: string, labels: Record<string, string> = {}): V1Node {
  return { metadata: { name, labels }, spec: {} };
}

describe('ResilientInformer against the test API server', () => {
  let cluster: TestCluster;
  let core: CoreV1Api;
  const informers: ResilientInformer<V1Node>[] = [];

  function nodeInformer(opts = {}): ResilientInformer<V1Node> {
    const inf = new ResilientInformer(cluster.kc, nodeKind, { ...FAST, ...opts });
    informers.push(inf);
    return inf;
  }

  beforeEach(async () => {
    cluster = await startTestCluster({ bookmarkIntervalMs: 100 });
    core = cluster.kc.makeApiClient(CoreV1Api);
  });

  afterEach(async () => {
    for (const inf of informers.splice(0)) await inf.stop();
    await cluster.server.stop();
  });

  it('lists, then follows adds, updates and deletes', async () => {
    await core.createNode({ body: node('n1') });
    const inf = nodeInformer();
    const log = record(inf);
    inf.start();
    await inf.waitForSync(2_000);
    expect(inf.synced).toBe(true);
    expect(inf.connected).toBe(true);
    expect(inf.keys()).toEqual(['n1']);

    await core.createNode({ body: node('n2') });
    const n1 = await core.readNode({ name: 'n1' });
    n1.metadata!.labels = { role: 'gw' };
    await core.replaceNode({ name: 'n1', body: n1 });
    await core.deleteNode({ name: 'n2' });
    await eventually('n2 deleted', () => log.some((e) => e.verb === 'delete' && e.key === 'n2'));
    expect(log.map((e) => `${e.verb}:${e.key}`)).toEqual([
      'add:n1',
      'add:n2',
      'update:n1',
      'delete:n2',
    ]);
    expect(inf.getByName('n1')?.metadata?.labels).toEqual({ role: 'gw' });
    // Wire form: timestamps stay the strings the server sent.
    expect(typeof inf.getByName('n1')?.metadata?.creationTimestamp).toBe('string');
  });

  it('filters by label and field selector, namespaced kinds keyed by namespace/name', async () => {
    const pods = new ResilientInformer(cluster.kc, podKind, {
      ...FAST,
      fieldSelector: 'spec.nodeName=n1',
      labelSelector: 'app',
    });
    try {
      pods.start();
      await pods.waitForSync(2_000);
      await core.createNamespacedPod({
        namespace: 'default',
        body: {
          metadata: { name: 'a', labels: { app: 'x' } },
          spec: { nodeName: 'n1', containers: [] },
        },
      });
      await core.createNamespacedPod({
        namespace: 'default',
        body: {
          metadata: { name: 'b', labels: { app: 'x' } },
          spec: { nodeName: 'n2', containers: [] },
        },
      });
      await core.createNamespacedPod({
        namespace: 'kube-system',
        body: { metadata: { name: 'c' }, spec: { nodeName: 'n1', containers: [] } },
      });
      await eventually('pod a cached', () => pods.get('default/a') !== undefined);
      await new Promise((r) => setTimeout(r, 100));
      expect(pods.keys()).toEqual(['default/a']);
      expect(pods.list('default').map((p) => p.metadata?.name)).toEqual(['a']);

      // Leaving the selector reads as a delete, entering it again as an add.
      const seen: string[] = [];
      pods.on('delete', (key) => seen.push(`delete:${key}`));
      pods.on('add', (key) => seen.push(`add:${key}`));
      const a = await core.readNamespacedPod({ namespace: 'default', name: 'a' });
      a.metadata!.labels = {};
      const unlabeled = await core.replaceNamespacedPod({
        namespace: 'default',
        name: 'a',
        body: a,
      });
      await eventually('a left the selector', () => pods.get('default/a') === undefined);
      unlabeled.metadata!.labels = { app: 'y' };
      await core.replaceNamespacedPod({ namespace: 'default', name: 'a', body: unlabeled });
      await eventually('a is back', () => pods.get('default/a') !== undefined);
      expect(seen).toEqual(['delete:default/a', 'add:default/a']);
    } finally {
      await pods.stop();
    }
  });

  it('receives bookmarks on a quiet resource, renews watches, and the watchdog stays idle', async () => {
    const inf = nodeInformer({ watchTimeoutSeconds: 1 });
    const log = record(inf);
    inf.start();
    await inf.waitForSync(2_000);
    await new Promise((r) => setTimeout(r, 1_200));
    await core.createNode({ body: node('after-renewal') });
    await eventually('event after renewal', () => inf.getByName('after-renewal') !== undefined);
    expect(inf.stats.bookmarks).toBeGreaterThanOrEqual(5);
    expect(cluster.server.requestCounts.get('watch')).toBeGreaterThanOrEqual(2);
    expect(inf.stats.watchdogRestarts).toBe(0);
    expect(inf.stats.errorRestarts).toBe(0);
    expect(inf.stats.lists).toBe(1);
    expect(log.map((e) => `${e.verb}:${e.key}`)).toEqual(['add:after-renewal']);
  });

  it('recovers from dropped watches, clean and abrupt, without relisting or missing changes', async () => {
    const inf = nodeInformer();
    const log = record(inf);
    inf.start();
    await inf.waitForSync(2_000);
    await eventually('watch open', () => cluster.server.openWatches === 1);

    cluster.server.dropWatches();
    await core.createNode({ body: node('after-clean-drop') });
    await eventually('clean drop recovered', () => inf.getByName('after-clean-drop') !== undefined);

    await eventually('watch reopened', () => cluster.server.openWatches === 1);
    cluster.server.dropWatches({ abrupt: true });
    await core.createNode({ body: node('after-reset') });
    await eventually('reset recovered', () => inf.getByName('after-reset') !== undefined, 3_000);
    expect(inf.stats.errorRestarts).toBeGreaterThanOrEqual(1);
    expect(inf.stats.lists).toBe(1);
    expect(log.map((e) => `${e.verb}:${e.key}`)).toEqual([
      'add:after-clean-drop',
      'add:after-reset',
    ]);
  });

  it('relists on 410 Gone with no lost or duplicated updates', async () => {
    for (const n of ['keep', 'change', 'remove']) await core.createNode({ body: node(n) });
    const inf = nodeInformer({ watchdogMs: 5_000 });
    const log = record(inf);
    inf.start();
    await inf.waitForSync(2_000);
    expect(log.map((e) => e.key)).toEqual(['change', 'keep', 'remove']);
    log.length = 0;
    await eventually('watch open', () => cluster.server.openWatches === 1);

    // Stall the watch so that it misses these changes, then compact them away: the
    // resumed watch gets 410 and the informer must relist and diff.
    cluster.server.stallWatches();
    const change = await core.readNode({ name: 'change' });
    change.metadata!.labels = { v: '2' };
    await core.replaceNode({ name: 'change', body: change });
    await core.deleteNode({ name: 'remove' });
    await core.createNode({ body: node('new') });
    cluster.server.compact();
    cluster.server.dropWatches();

    await eventually('relisted', () => inf.stats.lists === 2, 3_000);
    await eventually('caught up', () => inf.getByName('new') !== undefined);
    expect(log.map((e) => `${e.verb}:${e.key}`).sort()).toEqual([
      'add:new',
      'delete:remove',
      'update:change',
    ]);
    expect(inf.keys().sort()).toEqual(['change', 'keep', 'new']);
    expect(inf.getByName('change')?.metadata?.labels).toEqual({ v: '2' });
  });

  it('keeps its cache while the API server is gone and catches up when it is back', async () => {
    await core.createNode({ body: node('a') });
    const inf = nodeInformer();
    const log = record(inf);
    const transitions: boolean[] = [];
    inf.onConnectionChange((c) => transitions.push(c));
    inf.start();
    await inf.waitForSync(2_000);
    log.length = 0;

    await cluster.server.stop();
    await eventually('disconnected', () => !inf.connected, 3_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(inf.keys()).toEqual(['a']);
    expect(log).toEqual([]);

    // Changes made while the agent could not see them (the store survives the restart).
    cluster.server.seed({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'b' } });
    await cluster.server.start();
    await eventually(
      'reconnected and caught up',
      () => inf.connected && inf.getByName('b') !== undefined,
      3_000,
    );
    expect(log.map((e) => `${e.verb}:${e.key}`)).toEqual(['add:b']);
    expect(transitions).toEqual([true, false, true]);
  });

  it('keeps its cache through 503s and hangs', async () => {
    await core.createNode({ body: node('a') });
    const inf = nodeInformer();
    inf.start();
    await inf.waitForSync(2_000);

    cluster.server.setUnavailable(300);
    await eventually('disconnected by 503', () => !inf.connected, 2_000);
    expect(inf.keys()).toEqual(['a']);
    await eventually('back after 503', () => inf.connected, 3_000);

    cluster.server.hang(700);
    cluster.server.seed({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'b' } });
    await eventually('watchdog noticed the hang', () => inf.stats.watchdogRestarts >= 1, 2_000);
    expect(inf.connected).toBe(false);
    expect(inf.keys()).toEqual(['a']);
    await eventually(
      'caught up after the hang',
      () => inf.connected && inf.getByName('b') !== undefined,
      5_000,
    );
  });

  it('restarts a silently stalled watch through the watchdog', async () => {
    // The client's own inactivity timer (the fallback) is then 5 s: recovery within 2 s
    // can only come from the watchdog.
    const inf = nodeInformer({ requestTimeoutMs: 5_000 });
    inf.start();
    await inf.waitForSync(2_000);
    await eventually('watch open', () => cluster.server.openWatches === 1);
    cluster.server.stallWatches();
    await core.createNode({ body: node('during-stall') });
    await eventually('watchdog restarted the watch', () => inf.stats.watchdogRestarts === 1, 2_000);
    await eventually(
      'missed event replayed',
      () => inf.getByName('during-stall') !== undefined,
      2_000,
    );
    expect(inf.stats.lists).toBe(1);
    expect(inf.connected).toBe(true);
  });

  it('isolates a throwing change handler from the cache and from other handlers', async () => {
    const reported: string[] = [];
    const inf = nodeInformer({
      onHandlerError: (err: unknown, verb: string, key: string) =>
        reported.push(`${verb}:${key}:${(err as Error).message}`),
    });
    const seen: string[] = [];
    inf.on('add', (key) => {
      if (key === 'bad') throw new Error('boom');
    });
    inf.on('add', (key) => seen.push(key));
    inf.start();
    await inf.waitForSync(2_000);
    await core.createNode({ body: node('bad') });
    await core.createNode({ body: node('good') });
    await eventually('both seen', () => seen.length === 2);
    expect(seen).toEqual(['bad', 'good']);
    expect(reported).toEqual(['add:bad:boom']);
    expect(inf.stats.handlerErrors).toBe(1);
    // The watch went on from the right resourceVersion: nothing was replayed twice.
    cluster.server.dropWatches();
    await core.createNode({ body: node('later') });
    await eventually('later seen', () => seen.includes('later'));
    expect(seen).toEqual(['bad', 'good', 'later']);
  });

  it('serves custom resources', async () => {
    const custom = cluster.kc.makeApiClient(CustomObjectsApi);
    const gws = new ResilientInformer(cluster.kc, egressGatewayKind, FAST);
    try {
      gws.start();
      await gws.waitForSync(2_000);
      await custom.createClusterCustomObject({
        group: 'network.deckhouse.io',
        version: 'v1alpha1',
        plural: 'egressgateways',
        body: {
          apiVersion: 'network.deckhouse.io/v1alpha1',
          kind: 'EgressGateway',
          metadata: { name: 'gw' },
          spec: { nodeSelector: { 'node-role/egress': '' } },
        },
      });
      await eventually('gateway cached', () => gws.getByName('gw') !== undefined);
      expect(gws.getByName('gw')?.spec).toEqual({ nodeSelector: { 'node-role/egress': '' } });
    } finally {
      await gws.stop();
    }
  });

  it('waitForSync fails with a code when the server never answers', async () => {
    await cluster.server.stop();
    const inf = nodeInformer();
    inf.start();
    await expect(inf.waitForSync(300)).rejects.toMatchObject({ code: 'EGW_SYNC_TIMEOUT' });
    expect(inf.connected).toBe(false);
  });
});
