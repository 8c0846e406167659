import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  eventually,
  startTestCluster,
  type TestCluster,
} from '../../test/support/apiserver/testing.ts';
import { type CompileResult, compile, type ObjectStatus } from '../control/compile.ts';
import type { StatusCondition, StatusEvent } from '../control/conditions.ts';
import { ClusterInformers } from '../k8s/cluster-informers.ts';
import { EventRecorder } from '../k8s/event-recorder.ts';
import { egressGatewayKind } from '../k8s/kinds.ts';
import { StatusWriter } from '../k8s/status-writer.ts';
import { CONNECTIONS_FIELD_MANAGER } from './kube-connections.ts';
import { KubeSource } from './kube-source.ts';
import { canonicalJson, KubeStatus } from './kube-status.ts';

const FAST = { watchdogMs: 1_000, retryInitialMs: 20, retryMaxMs: 100, maxReconnectDelayMs: 50 };

const T1 = new Date('2026-11-22T05:00:00.123Z');
const T2 = new Date('2026-11-22T05:01:00Z');
const T3 = new Date('2026-11-22T05:02:00Z');

const valid: StatusCondition = {
  type: 'Valid',
  status: 'True',
  reason: 'Valid',
  message: 'the spec is valid',
};
const noNodes: StatusCondition = {
  type: 'Ready',
  status: 'False',
  reason: 'NoSuitableNodes',
  message: 'no node matches spec.nodeSelector (role=egress)',
};
const noNodesEvent: StatusEvent = {
  type: 'Warning',
  reason: 'NoSuitableNodes',
  message: noNodes.message,
};

function gatewayStatus(
  conditions: StatusCondition[],
  events: StatusEvent[] = [],
  name = 'gw',
): ObjectStatus {
  return { kind: 'EgressGateway', name, status: { observedGeneration: 1, conditions }, events };
}

function resultOf(...statuses: ObjectStatus[]): CompileResult {
  return {
    state: { groups: [], rules: [], clusterCIDRs: [] },
    statuses,
    unwritable: [],
    ignored: 0,
  };
}

function fakeLog() {
  const log = { info: vi.fn(), warn: vi.fn(), error: vi.fn(), debug: vi.fn() };
  return { log, asLogger: log as unknown as Pick<Logger, 'info' | 'warn' | 'error' | 'debug'> };
}

describe('KubeStatus', () => {
  let cluster: TestCluster | undefined;
  let informers: ClusterInformers | undefined;
  let status: KubeStatus | undefined;

  afterEach(async () => {
    status?.stop();
    await informers?.stop();
    await cluster?.server.stop();
    status = undefined;
    informers = undefined;
    cluster = undefined;
  });

  async function start(options: { nodeName?: string; live?: string[]; retryMs?: number } = {}) {
    cluster = await startTestCluster();
    cluster.server.seed({
      apiVersion: 'network.deckhouse.io/v1alpha1',
      kind: 'EgressGateway',
      metadata: { name: 'gw' },
      spec: { nodeSelector: { role: 'egress' } },
    });
    informers = new ClusterInformers(cluster.kc, {
      informer: FAST,
      served: { deckhouse: true, antrea: 'v1beta1' },
    });
    await informers.start();
    await informers.waitForSync(3_000);
    const writer = new StatusWriter(cluster.kc, { attempts: 1 });
    const events = new EventRecorder(cluster.kc, { host: 'n1' });
    const applySpy = vi.spyOn(writer, 'applyStatus');
    const recordSpy = vi.spyOn(events, 'record');
    const clock = { now: T1 };
    const { log, asLogger } = fakeLog();
    const make = () =>
      new KubeStatus({
        informers: informers!,
        writer,
        events,
        nodeName: options.nodeName ?? 'n1',
        liveAgents: () => options.live ?? ['n2', 'n3'],
        log: asLogger,
        now: () => clock.now,
        retryMs: options.retryMs ?? 60_000,
      });
    status = make();
    const custom = cluster.kc.makeApiClient(CustomObjectsApi);
    const core = cluster.kc.makeApiClient(CoreV1Api);
    const stored = async () =>
      (await custom.getClusterCustomObject({
        group: 'network.deckhouse.io',
        version: 'v1alpha1',
        plural: 'egressgateways',
        name: 'gw',
      })) as { status?: { observedGeneration?: number; conditions?: Record<string, unknown>[] } };
    const storedEvents = async () =>
      (await core.listNamespacedEvent({ namespace: 'default' })).items.filter(
        (e) => e.involvedObject.name === 'gw',
      );
    /** Waits until the cache holds the stored status (the next write's reference). */
    const cached = (conditions: number) =>
      eventually('status cached', () => {
        const s = informers?.egressGateways?.getByName('gw')?.status as
          | { conditions?: unknown[] }
          | undefined;
        return s?.conditions?.length === conditions;
      });
    return { status, make, writer, applySpy, recordSpy, clock, log, stored, storedEvents, cached };
  }

  it('applies the status with transition times, and skips an unchanged one', async () => {
    const t = await start();
    await t.status.write(resultOf(gatewayStatus([valid, noNodes], [noNodesEvent])));
    const first = await t.stored();
    expect(first.status?.observedGeneration).toBe(1);
    expect(first.status?.conditions).toEqual([
      { ...valid, observedGeneration: 1, lastTransitionTime: '2026-11-22T05:00:00Z' },
      { ...noNodes, observedGeneration: 1, lastTransitionTime: '2026-11-22T05:00:00Z' },
    ]);
    const events = await t.storedEvents();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: 'Warning',
      reason: 'NoSuitableNodes',
      message: noNodes.message,
      count: 1,
      involvedObject: {
        apiVersion: 'network.deckhouse.io/v1alpha1',
        kind: 'EgressGateway',
        name: 'gw',
      },
    });
    expect(events[0]?.involvedObject.uid).toBeTruthy();

    // The same result again: no request at all, neither before nor after the cache caught up.
    const patches = cluster?.server.requestCounts.get('patch');
    t.clock.now = T2;
    await t.status.write(resultOf(gatewayStatus([valid, noNodes], [noNodesEvent])));
    await t.cached(2);
    await t.status.write(resultOf(gatewayStatus([valid, noNodes], [noNodesEvent])));
    expect(t.applySpy).toHaveBeenCalledTimes(1);
    expect(t.recordSpy).toHaveBeenCalledTimes(1);
    expect(cluster?.server.requestCounts.get('patch')).toBe(patches);
    expect(t.status.stats).toMatchObject({ statusWrites: 1, statusSkips: 2, failures: 0 });
  });

  it('keeps lastTransitionTime while a condition keeps its status', async () => {
    const t = await start();
    await t.status.write(resultOf(gatewayStatus([valid, noNodes])));
    await t.cached(2);

    // Same status, another message: written, the time kept.
    t.clock.now = T2;
    const otherMessage = { ...noNodes, message: 'none of the 2 selected nodes is suitable' };
    await t.status.write(resultOf(gatewayStatus([valid, otherMessage])));
    let conditions = (await t.stored()).status?.conditions;
    expect(conditions?.[1]).toMatchObject({
      message: otherMessage.message,
      lastTransitionTime: '2026-11-22T05:00:00Z',
    });

    // Ready turns True: its time moves, Valid's stays. Written before the cache has seen
    // the previous write, so the reference is what this writer applied last.
    t.clock.now = T3;
    const active = { type: 'Ready', status: 'True' as const, reason: 'Active', message: 'n1' };
    await t.status.write(resultOf(gatewayStatus([valid, active])));
    conditions = (await t.stored()).status?.conditions;
    expect(conditions).toEqual([
      expect.objectContaining({ type: 'Valid', lastTransitionTime: '2026-11-22T05:00:00Z' }),
      expect.objectContaining({ type: 'Ready', lastTransitionTime: '2026-11-22T05:02:00Z' }),
    ]);

    // A new writer (a restart) takes the stored status as reference: nothing to write,
    // and a later change still keeps the stored times.
    await t.cached(2);
    await eventually('cache has Active', () =>
      JSON.stringify(informers?.egressGateways?.getByName('gw')?.status).includes('Active'),
    );
    const restarted = t.make();
    await restarted.write(resultOf(gatewayStatus([valid, active])));
    expect(restarted.stats).toMatchObject({ statusWrites: 0, statusSkips: 1 });
    await restarted.write(resultOf(gatewayStatus([valid, { ...active, message: 'n2' }])));
    conditions = (await t.stored()).status?.conditions;
    expect(conditions?.[1]).toMatchObject({
      message: 'n2',
      lastTransitionTime: '2026-11-22T05:02:00Z',
    });
    restarted.stop();
  });

  it('leaves status.connections to its own field manager: kept, and no reason to write', async () => {
    const t = await start();
    await t.status.write(resultOf(gatewayStatus([valid, noNodes])));
    const counter = new StatusWriter(cluster!.kc, { fieldManager: CONNECTIONS_FIELD_MANAGER });
    await counter.applyStatus(egressGatewayKind, 'gw', { connections: 7 });
    await eventually('count cached', () =>
      JSON.stringify(informers?.egressGateways?.getByName('gw')?.status).includes(
        '"connections":7',
      ),
    );

    // A restarted writer compares with the stored status: the count makes no difference.
    const restarted = t.make();
    await restarted.write(resultOf(gatewayStatus([valid, noNodes])));
    expect(restarted.stats).toMatchObject({ statusWrites: 0, statusSkips: 1 });

    // A changed status is applied as the complete status `egressgw` owns; the count stays.
    await restarted.write(resultOf(gatewayStatus([valid])));
    const stored = (await t.stored()) as {
      status?: { connections?: number; conditions?: unknown[] };
      metadata?: { managedFields?: { manager: string }[] };
    };
    expect(stored.status?.connections).toBe(7);
    expect(stored.status?.conditions).toHaveLength(1);
    expect(stored.metadata?.managedFields?.map((m) => m.manager).sort()).toEqual([
      'egressgw',
      CONNECTIONS_FIELD_MANAGER,
    ]);
    restarted.stop();
  });

  it('records an event once per appearance, counting repeats on one Event', async () => {
    const t = await start();
    await t.status.write(resultOf(gatewayStatus([valid, noNodes], [noNodesEvent])));
    await t.status.write(resultOf(gatewayStatus([valid, noNodes], [noNodesEvent])));
    expect(await t.storedEvents()).toMatchObject([{ count: 1 }]);

    // Gone, then back: the recorder counts it up on the same Event.
    await t.status.write(resultOf(gatewayStatus([valid])));
    await t.status.write(resultOf(gatewayStatus([valid, noNodes], [noNodesEvent])));
    expect(await t.storedEvents()).toMatchObject([{ reason: 'NoSuitableNodes', count: 2 }]);
    expect(t.recordSpy).toHaveBeenCalledTimes(2);
  });

  it('writes nothing while another live agent has a smaller name', async () => {
    const live = ['n3', 'n1'];
    const t = await start({ nodeName: 'n2', live });
    expect(t.status.isWriter()).toBe(false);
    await t.status.write(resultOf(gatewayStatus([valid, noNodes], [noNodesEvent])));
    expect(t.applySpy).not.toHaveBeenCalled();
    expect(t.recordSpy).not.toHaveBeenCalled();
    expect((await t.stored()).status).toBeUndefined();
    expect(t.log.info).toHaveBeenCalledWith(
      expect.anything(),
      'another agent writes object statuses',
    );

    // n1 is no longer live: n2 takes over.
    live.splice(live.indexOf('n1'), 1);
    await t.status.write(resultOf(gatewayStatus([valid, noNodes], [noNodesEvent])));
    expect(t.log.info).toHaveBeenLastCalledWith(
      expect.anything(),
      'this agent now writes object statuses',
    );
    expect((await t.stored()).status?.conditions).toHaveLength(2);
    expect(await t.storedEvents()).toHaveLength(1);
  });

  it('skips objects that are gone, from the cache or from the server', async () => {
    const t = await start();
    // Not in the cache: no request.
    await t.status.write(resultOf(gatewayStatus([valid], [noNodesEvent], 'ghost')));
    expect(t.applySpy).not.toHaveBeenCalled();
    expect(t.recordSpy).not.toHaveBeenCalled();

    // Still cached but deleted on the server (the informers are stopped, so the cache
    // keeps it): the 404 is not a failure.
    await informers?.stop();
    await cluster?.kc.makeApiClient(CustomObjectsApi).deleteClusterCustomObject({
      group: 'network.deckhouse.io',
      version: 'v1alpha1',
      plural: 'egressgateways',
      name: 'gw',
    });
    await t.status.write(resultOf(gatewayStatus([valid, noNodes])));
    expect(t.applySpy).toHaveBeenCalledTimes(1);
    expect(t.status.stats.failures).toBe(0);
    expect(t.log.error).not.toHaveBeenCalled();
  });

  it('logs a failed write and retries it when no reconcile comes', async () => {
    const t = await start({ retryMs: 100 });
    cluster?.server.setUnavailable();
    await t.status.write(resultOf(gatewayStatus([valid, noNodes], [noNodesEvent])));
    expect(t.log.error).toHaveBeenCalledWith(
      expect.objectContaining({ object: 'EgressGateway/gw' }),
      'status write failed; retrying later',
    );
    expect(t.log.error).toHaveBeenCalledWith(
      expect.objectContaining({ object: 'EgressGateway/gw', reason: 'NoSuitableNodes' }),
      'event write failed; retrying later',
    );
    expect(t.status.stats.failures).toBe(2);

    cluster?.server.setAvailable();
    await eventually('retried by timer', () => t.status!.stats.statusWrites >= 2, 3_000);
    await eventually('event retried', () => t.recordSpy.mock.calls.length >= 2, 3_000);
    expect((await t.stored()).status?.conditions).toHaveLength(2);
    expect(await t.storedEvents()).toMatchObject([{ count: 1 }]);
  });

  it('retries a failed write on the next one, even with the same result', async () => {
    const t = await start();
    cluster?.server.setUnavailable();
    await t.status.write(resultOf(gatewayStatus([valid, noNodes], [noNodesEvent])));
    expect(t.status.stats.failures).toBe(2);
    cluster?.server.setAvailable();
    await t.status.write(resultOf(gatewayStatus([valid, noNodes], [noNodesEvent])));
    expect(t.status.stats.failures).toBe(2);
    expect((await t.stored()).status?.conditions).toHaveLength(2);
    expect(await t.storedEvents()).toMatchObject([{ count: 1 }]);
  });

  it('logs a broken liveAgents() instead of rejecting', async () => {
    const t = await start();
    const { log, asLogger } = fakeLog();
    const broken = new KubeStatus({
      informers: informers!,
      writer: t.writer,
      events: new EventRecorder(cluster!.kc),
      nodeName: 'n1',
      liveAgents: () => {
        throw new Error('no liveness yet');
      },
      log: asLogger,
    });
    await expect(broken.write(resultOf(gatewayStatus([valid])))).resolves.toBeUndefined();
    expect(log.error).toHaveBeenCalledWith(
      expect.objectContaining({ err: expect.any(Error) }),
      'writing statuses failed; retrying later',
    );
    broken.stop();
  });

  it('coalesces writes made while one runs into one more pass with the newest', async () => {
    const t = await start();
    // Hold the first apply until the later writes are made.
    let release = (): void => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const realApply = StatusWriter.prototype.applyStatus.bind(t.writer);
    t.applySpy.mockImplementationOnce(async (...args) => {
      await gate;
      return realApply(...args);
    });
    const first = t.status.write(resultOf(gatewayStatus([valid])));
    await eventually('first apply sent', () => t.applySpy.mock.calls.length === 1);
    void t.status.write(resultOf(gatewayStatus([valid, noNodes])));
    const last = t.status.write(resultOf(gatewayStatus([valid, { ...noNodes, message: 'x' }])));
    expect(last).toBe(first);
    release();
    await last;
    expect(t.applySpy).toHaveBeenCalledTimes(2);
    expect((await t.stored()).status?.conditions?.[1]).toMatchObject({ message: 'x' });
  });
});

describe('KubeStatus with KubeSource and compile()', () => {
  let cluster: TestCluster | undefined;
  let informers: ClusterInformers | undefined;

  afterEach(async () => {
    await informers?.stop();
    await cluster?.server.stop();
    informers = undefined;
    cluster = undefined;
  });

  it('writes Valid=False and a Warning event for an invalid object from the cluster', async () => {
    cluster = await startTestCluster();
    cluster.server.seed({
      apiVersion: 'network.deckhouse.io/v1alpha1',
      kind: 'EgressGateway',
      metadata: { name: 'broken' },
      spec: { sourceIP: 'nonsense' },
    });
    informers = new ClusterInformers(cluster.kc, { informer: FAST });
    const { asLogger } = fakeLog();
    const source = new KubeSource(informers, { log: asLogger });
    await informers.start();
    await eventually('snapshot', () => source.current() !== null);
    const snapshot = source.current()!;
    const result = compile(snapshot.objects, {
      nodes: snapshot.nodes,
      pods: snapshot.pods,
      namespaces: snapshot.namespaces,
      clusterCIDRs: [],
      liveAgents: new Set(['n1']),
      chooseActive: () => null,
    });
    const status = new KubeStatus({
      informers,
      writer: new StatusWriter(cluster.kc, { attempts: 1 }),
      events: new EventRecorder(cluster.kc, { host: 'n1' }),
      nodeName: 'n1',
      liveAgents: () => [],
      log: asLogger,
    });
    await status.write(result);
    source.stop();

    const stored = (await cluster.kc.makeApiClient(CustomObjectsApi).getClusterCustomObject({
      group: 'network.deckhouse.io',
      version: 'v1alpha1',
      plural: 'egressgateways',
      name: 'broken',
    })) as { status?: { conditions?: { type: string; status: string; reason: string }[] } };
    const validity = stored.status?.conditions?.find((c) => c.type === 'Valid');
    expect(validity).toMatchObject({ status: 'False', lastTransitionTime: expect.any(String) });
    const events = await cluster.kc
      .makeApiClient(CoreV1Api)
      .listNamespacedEvent({ namespace: 'default' });
    expect(events.items.some((e) => e.type === 'Warning' && e.reason === validity?.reason)).toBe(
      true,
    );
  });
});

describe('canonicalJson', () => {
  it('ignores key order, keeps list order', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, 1], c: null } })).toBe(
      canonicalJson({ a: { c: null, d: [2, 1] }, b: 1 }),
    );
    expect(canonicalJson({ a: [1, 2] })).not.toBe(canonicalJson({ a: [2, 1] }));
  });
});
