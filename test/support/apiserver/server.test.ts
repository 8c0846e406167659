import {
  CoreV1Api,
  CustomObjectsApi,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from './testing.ts';

// biome-ignore lint/suspicious/noExplicitAny: JSON off the wire; the assertions check its shape.
type Json = Record<string, any>;

describe('test API server protocol', () => {
  let cluster: TestCluster;
  let base: string;

  beforeAll(async () => {
    cluster = await startTestCluster({ bookmarkIntervalMs: 50 });
    base = cluster.server.url;
  });
  afterAll(async () => {
    await cluster.server.stop();
  });

  async function call(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
  ) {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': contentType },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: (text.startsWith('{') ? JSON.parse(text) : text) as Json };
  }

  /** Opens a watch and collects its events until `count` arrived or the stream ended. */
  async function watchEvents(path: string, count: number, timeoutMs = 2_000): Promise<Json[]> {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), timeoutMs);
    const events: Json[] = [];
    try {
      const res = await fetch(`${base}${path}`, { signal: ctl.signal });
      expect(res.status).toBe(200);
      const reader = res.body!.getReader();
      let buf = '';
      while (events.length < count) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += Buffer.from(value).toString();
        let nl = buf.indexOf('\n');
        while (nl >= 0) {
          events.push(JSON.parse(buf.slice(0, nl)));
          buf = buf.slice(nl + 1);
          nl = buf.indexOf('\n');
        }
      }
    } catch (err) {
      if ((err as Error).name !== 'AbortError') throw err;
    } finally {
      clearTimeout(timer);
      ctl.abort();
    }
    return events;
  }

  it('serves health, version and discovery', async () => {
    expect((await call('GET', '/healthz')).body).toBe('ok');
    expect((await call('GET', '/version')).body.major).toBe('1');
    expect((await call('GET', '/api')).body.versions).toEqual(['v1']);
    const groups = (await call('GET', '/apis')).body.groups.map((g: Json) => g.name);
    expect(groups).toEqual([
      'events.k8s.io',
      'coordination.k8s.io',
      'network.deckhouse.io',
      'crd.antrea.io',
    ]);
    const antrea = (await call('GET', '/apis/crd.antrea.io')).body;
    expect(antrea.versions.map((v: Json) => v.version)).toEqual(['v1beta1', 'v1alpha2']);
    const res = (await call('GET', '/apis/network.deckhouse.io/v1alpha1')).body.resources.map(
      (r: Json) => r.name,
    );
    expect(res).toEqual([
      'egressgateways',
      'egressgateways/status',
      'egressgatewaypolicies',
      'egressgatewaypolicies/status',
    ]);
    expect((await call('GET', '/apis/nope.io/v1')).status).toBe(404);
    expect((await call('GET', '/api/v1/widgets')).status).toBe(404);
    expect((await call('GET', '/api/v1/nodes/%E0%A4%A')).status).toBe(400);
  });

  it('creates with uid, creationTimestamp, generation and answers 409 AlreadyExists', async () => {
    const body = {
      apiVersion: 'network.deckhouse.io/v1alpha1',
      kind: 'EgressGateway',
      metadata: { name: 'g1' },
      spec: { a: 1 },
      status: { x: 1 },
    };
    const created = await call('POST', '/apis/network.deckhouse.io/v1alpha1/egressgateways', body);
    expect(created.status).toBe(201);
    expect(created.body.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.body.metadata.creationTimestamp).toMatch(/Z$/);
    expect(created.body.metadata.generation).toBe(1);
    expect(created.body.status).toBeUndefined();
    const again = await call('POST', '/apis/network.deckhouse.io/v1alpha1/egressgateways', body);
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ kind: 'Status', reason: 'AlreadyExists', code: 409 });
    const noName = await call('POST', '/apis/network.deckhouse.io/v1alpha1/egressgateways', {
      spec: {},
    });
    expect(noName.status).toBe(422);
    const badName = await call('POST', '/api/v1/nodes', { metadata: { name: 'Bad_Name' } });
    expect(badName.status).toBe(422);
  });

  it('answers 409 Conflict to an update with a stale resourceVersion (real client)', async () => {
    const core = cluster.kc.makeApiClient(CoreV1Api);
    await core.createNode({ body: { metadata: { name: 'stale' } } });
    const first = await core.readNode({ name: 'stale' });
    const second = await core.readNode({ name: 'stale' });
    first.metadata!.labels = { by: 'first' };
    await core.replaceNode({ name: 'stale', body: first });
    second.metadata!.labels = { by: 'second' };
    await expect(core.replaceNode({ name: 'stale', body: second })).rejects.toMatchObject({
      code: 409,
    });
    expect((await core.readNode({ name: 'stale' })).metadata?.labels).toEqual({ by: 'first' });
    // Without a resourceVersion the update is unconditional.
    delete second.metadata!.resourceVersion;
    await core.replaceNode({ name: 'stale', body: second });
    expect((await core.readNode({ name: 'stale' })).metadata?.labels).toEqual({ by: 'second' });
  });

  it('keeps status and spec apart: /status writes only status, the main resource ignores status', async () => {
    const path = '/apis/network.deckhouse.io/v1alpha1/egressgateways';
    await call('POST', path, { metadata: { name: 'iso' }, spec: { mode: 'a' } });
    const got = (await call('GET', `${path}/iso`)).body;

    const viaStatus = await call('PUT', `${path}/iso/status`, {
      ...got,
      spec: { mode: 'changed' },
      status: { active: 'n1' },
    });
    expect(viaStatus.status).toBe(200);
    expect(viaStatus.body.spec).toEqual({ mode: 'a' });
    expect(viaStatus.body.status).toEqual({ active: 'n1' });
    expect(viaStatus.body.metadata.generation).toBe(1);

    const { resourceVersion: _rv, ...withoutRv } = viaStatus.body.metadata;
    const unconditional = await call('PUT', `${path}/iso`, {
      ...viaStatus.body,
      metadata: withoutRv,
    });
    expect(unconditional.status).toBe(422);
    const viaMain = await call('PUT', `${path}/iso`, {
      ...viaStatus.body,
      spec: { mode: 'b' },
      status: { active: 'evil' },
    });
    expect(viaMain.body.spec).toEqual({ mode: 'b' });
    expect(viaMain.body.status).toEqual({ active: 'n1' });
    expect(viaMain.body.metadata.generation).toBe(2);

    const labelOnly = await call(
      'PATCH',
      `${path}/iso`,
      { metadata: { labels: { a: 'b' } } },
      'application/merge-patch+json',
    );
    expect(labelOnly.body.metadata.generation).toBe(2);
    const patchedStatus = await call(
      'PATCH',
      `${path}/iso/status`,
      { status: { active: 'n2' }, spec: { mode: 'x' } },
      'application/merge-patch+json',
    );
    expect(patchedStatus.body.status).toEqual({ active: 'n2' });
    expect(patchedStatus.body.spec).toEqual({ mode: 'b' });
  });

  it('server-side applies status through the real client, with conflicts for other managers', async () => {
    const custom = cluster.kc.makeApiClient(CustomObjectsApi);
    const g = { group: 'network.deckhouse.io', version: 'v1alpha1', plural: 'egressgateways' };
    await custom.createClusterCustomObject({
      ...g,
      body: {
        apiVersion: 'network.deckhouse.io/v1alpha1',
        kind: 'EgressGateway',
        metadata: { name: 'ssa' },
        spec: {},
      },
    });
    const apply = (manager: string, status: Json, force: boolean) =>
      custom.patchClusterCustomObjectStatus(
        {
          ...g,
          name: 'ssa',
          fieldManager: manager,
          force,
          body: {
            apiVersion: 'network.deckhouse.io/v1alpha1',
            kind: 'EgressGateway',
            metadata: { name: 'ssa' },
            status,
          },
        },
        setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
      ) as Promise<Json>;
    const one = await apply('egressgw', { activeNode: 'n1' }, false);
    expect(one.status).toEqual({ activeNode: 'n1' });
    await expect(apply('intruder', { activeNode: 'n9' }, false)).rejects.toMatchObject({
      code: 409,
    });
    const forced = await apply('intruder', { activeNode: 'n9' }, true);
    expect(forced.status).toEqual({ activeNode: 'n9' });
    // A no-op apply does not bump the resourceVersion.
    const noop = await apply('intruder', { activeNode: 'n9' }, false);
    expect(noop.metadata.resourceVersion).toBe(forced.metadata.resourceVersion);
    // Apply without a field manager is refused, as by the apiserver.
    const raw = await call(
      'PATCH',
      '/apis/network.deckhouse.io/v1alpha1/egressgateways/ssa/status',
      '{"apiVersion":"network.deckhouse.io/v1alpha1","kind":"EgressGateway","status":{}}',
      'application/apply-patch+yaml',
    );
    expect(raw.status).toBe(422);
  });

  it('works with the generic KubernetesObjectApi, which resolves resources by discovery', async () => {
    const client = KubernetesObjectApi.makeApiClient(cluster.kc);
    const pool = {
      apiVersion: 'crd.antrea.io/v1beta1',
      kind: 'ExternalIPPool',
      metadata: { name: 'generic' },
      spec: { ipRanges: [{ start: '10.2.0.10', end: '10.2.0.20' }] },
    };
    await client.create(pool);
    const read = await client.read({
      apiVersion: pool.apiVersion,
      kind: pool.kind,
      metadata: { name: 'generic' },
    });
    expect(read.metadata?.uid).toBeDefined();
    const applied = await client.patch(
      { ...pool, spec: { ipRanges: [{ cidr: '10.2.0.0/28' }] } },
      undefined,
      undefined,
      'tester',
      true,
      PatchStrategy.ServerSideApply,
    );
    expect((applied as unknown as Json).spec.ipRanges).toEqual([{ cidr: '10.2.0.0/28' }]);
    const lease = await client.create({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'generic', namespace: 'default' },
      spec: { holderIdentity: 'x' },
    });
    expect(lease.metadata?.namespace).toBe('default');
  });

  it('creates through apply and accepts YAML', async () => {
    const yaml =
      'apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata:\n  name: applied\nspec:\n  holderIdentity: n1\n';
    const res = await call(
      'PATCH',
      '/apis/coordination.k8s.io/v1/namespaces/default/leases/applied?fieldManager=t',
      yaml,
      'application/apply-patch+yaml',
    );
    expect(res.status).toBe(201);
    expect(res.body.spec).toEqual({ holderIdentity: 'n1' });
    expect(res.body.metadata.managedFields[0]).toMatchObject({ manager: 't', operation: 'Apply' });
  });

  it('applies JSON patches and honours dryRun', async () => {
    const res = await call(
      'PATCH',
      '/api/v1/nodes/stale',
      [{ op: 'add', path: '/spec', value: { unschedulable: true } }],
      'application/json-patch+json',
    );
    expect(res.body.spec).toEqual({ unschedulable: true });
    const dry = await call(
      'PATCH',
      '/api/v1/nodes/stale?dryRun=All',
      { spec: { unschedulable: false } },
      'application/merge-patch+json',
    );
    expect(dry.body.spec).toEqual({ unschedulable: false });
    expect((await call('GET', '/api/v1/nodes/stale')).body.spec).toEqual({ unschedulable: true });
    expect((await call('PATCH', '/api/v1/nodes/stale', {}, 'text/plain')).status).toBe(415);
  });

  it('rejects Lease times that are not MicroTime', async () => {
    const res = await call('POST', '/apis/coordination.k8s.io/v1/namespaces/default/leases', {
      metadata: { name: 'ms' },
      spec: { renewTime: new Date().toISOString() },
    });
    expect(res.status).toBe(400);
  });

  it('shares storage between the Antrea versions', async () => {
    await call('POST', '/apis/crd.antrea.io/v1alpha2/externalippools', {
      metadata: { name: 'pool' },
      spec: { ipRanges: [{ cidr: '10.1.0.0/24' }] },
    });
    const beta = await call('GET', '/apis/crd.antrea.io/v1beta1/externalippools/pool');
    expect(beta.body.apiVersion).toBe('crd.antrea.io/v1beta1');
    expect(beta.body.spec.ipRanges).toEqual([{ cidr: '10.1.0.0/24' }]);
  });

  it('lists with resourceVersion and selectors, and deletes', async () => {
    await call('POST', '/api/v1/namespaces/default/pods', {
      metadata: { name: 'p1', labels: { app: 'x' } },
      spec: { nodeName: 'n1' },
      status: { podIP: '1.2.3.4' },
    });
    await call('POST', '/api/v1/namespaces/kube-system/pods', {
      metadata: { name: 'p2' },
      spec: { nodeName: 'n2' },
    });
    const all = (await call('GET', '/api/v1/pods')).body;
    expect(all.kind).toBe('PodList');
    expect(Number(all.metadata.resourceVersion)).toBe(cluster.server.store.currentRevision);
    expect(all.items.map((p: Json) => p.metadata.name)).toEqual(['p1', 'p2']);
    expect(all.items[0].status).toEqual({ phase: 'Pending' });
    expect(
      (await call('GET', '/api/v1/pods?fieldSelector=spec.nodeName%3Dn2')).body.items.map(
        (p: Json) => p.metadata.name,
      ),
    ).toEqual(['p2']);
    expect(
      (await call('GET', '/api/v1/namespaces/default/pods?labelSelector=app%3Dx')).body.items,
    ).toHaveLength(1);
    expect((await call('GET', '/api/v1/pods?fieldSelector=spec.bogus%3D1')).status).toBe(400);
    const del = await call('DELETE', '/api/v1/namespaces/kube-system/pods/p2');
    expect(del.status).toBe(200);
    expect((await call('DELETE', '/api/v1/namespaces/kube-system/pods/p2')).status).toBe(404);
    expect((await call('POST', '/api/v1/pods', { metadata: { name: 'x' } })).status).toBe(405);
  });

  it('watches: initial state, replay after a resourceVersion, selector transitions', async () => {
    const ns = '/api/v1/namespaces/default/pods';
    const start = (await call('GET', ns)).body.metadata.resourceVersion;
    await call('POST', ns, { metadata: { name: 'w1', labels: { sel: 'yes' } }, spec: {} });
    await call(
      'PATCH',
      `${ns}/w1`,
      { metadata: { labels: { sel: 'no' } } },
      'application/merge-patch+json',
    );
    await call(
      'PATCH',
      `${ns}/w1`,
      { metadata: { labels: { sel: 'yes' } } },
      'application/merge-patch+json',
    );
    await call('DELETE', `${ns}/w1`);
    const all = await watchEvents(`${ns}?watch=1&resourceVersion=${start}`, 4);
    expect(all.map((e) => e.type)).toEqual(['ADDED', 'MODIFIED', 'MODIFIED', 'DELETED']);
    const filtered = await watchEvents(
      `${ns}?watch=1&resourceVersion=${start}&labelSelector=sel%3Dyes`,
      4,
    );
    expect(filtered.map((e) => e.type)).toEqual(['ADDED', 'DELETED', 'ADDED', 'DELETED']);
    const initial = await watchEvents(`${ns}?watch=1`, 1);
    expect(initial.map((e) => [e.type, e.object.metadata.name])).toEqual([['ADDED', 'p1']]);
  });

  it('watches: 410 Gone for a compacted resourceVersion, bookmarks, timeoutSeconds', async () => {
    const rv = cluster.server.store.currentRevision;
    await call('POST', '/api/v1/nodes', { metadata: { name: 'after-compact' } });
    cluster.server.compact();
    const gone = await watchEvents(`/api/v1/nodes?watch=1&resourceVersion=${rv}`, 2);
    expect(gone).toHaveLength(1);
    expect(gone[0]).toMatchObject({
      type: 'ERROR',
      object: { kind: 'Status', code: 410, reason: 'Expired' },
    });

    const now = cluster.server.store.currentRevision;
    const marks = await watchEvents(
      `/api/v1/nodes?watch=1&resourceVersion=${now}&allowWatchBookmarks=true`,
      2,
    );
    expect(marks.map((e) => e.type)).toEqual(['BOOKMARK', 'BOOKMARK']);
    expect(marks[0]!.object.metadata.resourceVersion).toBe(String(now));

    const t0 = Date.now();
    const ended = await watchEvents(
      `/api/v1/nodes?watch=1&resourceVersion=${now}&timeoutSeconds=1`,
      1,
      3_000,
    );
    expect(ended).toEqual([]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(Date.now() - t0).toBeLessThan(2_500);
  });

  it('serves events.k8s.io/v1 Events as a view of core v1 Events', async () => {
    const created = await call('POST', '/apis/events.k8s.io/v1/namespaces/default/events', {
      metadata: { name: 'view.1' },
      regarding: { kind: 'Node', name: 'n1' },
      reason: 'Test',
      note: 'hello',
      type: 'Normal',
      reportingController: 'egressgw',
      reportingInstance: 'n1',
      eventTime: '2026-01-01T00:00:00.000000Z',
      action: 'Check',
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ apiVersion: 'events.k8s.io/v1', note: 'hello' });
    const core = (await call('GET', '/api/v1/namespaces/default/events/view.1')).body;
    expect(core).toMatchObject({
      apiVersion: 'v1',
      involvedObject: { kind: 'Node', name: 'n1' },
      message: 'hello',
      reportingComponent: 'egressgw',
    });
    expect(core['note']).toBeUndefined();
    const patched = await call(
      'PATCH',
      '/apis/events.k8s.io/v1/namespaces/default/events/view.1',
      { note: 'changed' },
      'application/merge-patch+json',
    );
    expect(patched.body.note).toBe('changed');
    expect((await call('GET', '/api/v1/namespaces/default/events/view.1')).body.message).toBe(
      'changed',
    );
    const selected = await call(
      'GET',
      '/apis/events.k8s.io/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Dn1',
    );
    expect(selected.body.items.map((e: Json) => e.metadata.name)).toEqual(['view.1']);
  });

  it('deleting a namespace deletes what is in it', async () => {
    await call('POST', '/api/v1/namespaces', { metadata: { name: 'doomed' } });
    await call('POST', '/api/v1/namespaces/doomed/pods', { metadata: { name: 'p' }, spec: {} });
    await call('DELETE', '/api/v1/namespaces/doomed');
    expect((await call('GET', '/api/v1/namespaces/doomed/pods/p')).status).toBe(404);
  });

  it('hangs, answers 503, and restarts on the same port keeping its objects', async () => {
    cluster.server.setUnavailable();
    const unavailable = await call('GET', '/api/v1/nodes');
    expect(unavailable.status).toBe(503);
    expect(unavailable.body.reason).toBe('ServiceUnavailable');
    cluster.server.setAvailable();

    cluster.server.hang();
    const hung = await Promise.race([
      fetch(`${base}/api/v1/nodes`).then(
        () => 'answered',
        () => 'failed',
      ),
      new Promise((r) => setTimeout(() => r('no answer'), 200)),
    ]);
    expect(hung).toBe('no answer');
    cluster.server.endHang();

    const port = new URL(base).port;
    await cluster.server.restart({ downMs: 50 });
    expect(new URL(cluster.server.url).port).toBe(port);
    expect((await call('GET', '/api/v1/nodes/stale')).status).toBe(200);
  });
});
