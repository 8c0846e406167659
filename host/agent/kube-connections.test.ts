import { CustomObjectsApi } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  eventually,
  startTestCluster,
  type TestCluster,
} from '../../test/support/apiserver/testing.ts';
import type { CompileResult, ObjectStatus } from '../control/compile.ts';
import type { StatusCondition } from '../control/conditions.ts';
import { ClusterInformers } from '../k8s/cluster-informers.ts';
import { StatusWriter } from '../k8s/status-writer.ts';
import { CONNECTIONS_FIELD_MANAGER, KubeConnections } from './kube-connections.ts';

const FAST = { watchdogMs: 1_000, retryInitialMs: 20, retryMaxMs: 100, maxReconnectDelayMs: 50 };
const VIP = '172.18.18.242';
const POOL_IP = '10.10.0.11';

const ready: StatusCondition = { type: 'Ready', status: 'True', reason: 'Active', message: 'm' };

function gateway(activeNode: string | undefined): ObjectStatus {
  return {
    kind: 'EgressGateway',
    name: 'gw',
    status: { egressIP: VIP, ...(activeNode ? { activeNode } : {}), conditions: [ready] },
    events: [],
  };
}

function egress(egressNode: string | undefined): ObjectStatus {
  return {
    kind: 'Egress',
    name: 'eg',
    status: { egressIP: POOL_IP, ...(egressNode ? { egressNode } : {}) },
    events: [],
  };
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
  return { log, asLogger: log as unknown as Logger };
}

interface Stored {
  metadata?: { managedFields?: { manager: string; fieldsV1?: unknown }[] };
  status?: { connections?: number; conditions?: unknown[] };
}

describe('KubeConnections', () => {
  let cluster: TestCluster | undefined;
  let informers: ClusterInformers | undefined;
  const stops: Array<{ stop(): void }> = [];

  afterEach(async () => {
    for (const s of stops.splice(0)) s.stop();
    await informers?.stop();
    await cluster?.server.stop();
    informers = undefined;
    cluster = undefined;
  });

  async function start() {
    cluster = await startTestCluster();
    cluster.server.seed({
      apiVersion: 'network.deckhouse.io/v1alpha1',
      kind: 'EgressGateway',
      metadata: { name: 'gw' },
      spec: { sourceIP: { mode: 'VirtualIPAddress', virtualIPAddress: { ip: VIP } } },
    });
    cluster.server.seed({
      apiVersion: 'crd.antrea.io/v1beta1',
      kind: 'Egress',
      metadata: { name: 'eg' },
      spec: { appliedTo: {}, externalIPPool: 'pool' },
    });
    informers = new ClusterInformers(cluster.kc, {
      informer: FAST,
      served: { deckhouse: true, antrea: 'v1beta1' },
    });
    await informers.start();
    await informers.waitForSync(3_000);
    const writer = new StatusWriter(cluster.kc, {
      fieldManager: CONNECTIONS_FIELD_MANAGER,
      attempts: 1,
    });
    const applySpy = vi.spyOn(writer, 'applyStatus');
    const counts = new Map<string, number>([
      [VIP, 12],
      [POOL_IP, 3],
    ]);
    const { log, asLogger } = fakeLog();
    const make = (
      options: { nodeName?: string; statusWriter?: boolean; intervalMs?: number } = {},
    ) => {
      const made = new KubeConnections({
        informers: informers!,
        writer,
        nodeName: options.nodeName ?? 'n1',
        byEgressIP: () => counts,
        isStatusWriter: () => options.statusWriter ?? false,
        log: asLogger,
        intervalMs: options.intervalMs ?? 3_600_000,
      });
      stops.push(made);
      return made;
    };
    const custom = cluster.kc.makeApiClient(CustomObjectsApi);
    const stored = async (kind: 'gw' | 'eg' = 'gw') =>
      (await custom.getClusterCustomObject(
        kind === 'gw'
          ? {
              group: 'network.deckhouse.io',
              version: 'v1alpha1',
              plural: 'egressgateways',
              name: 'gw',
            }
          : { group: 'crd.antrea.io', version: 'v1beta1', plural: 'egresses', name: 'eg' },
      )) as Stored;
    const cachedConnections = (value: number | undefined) =>
      eventually(`cached connections ${value}`, () => {
        const s = informers?.egressGateways?.getByName('gw')?.status as Stored['status'];
        return s?.connections === value;
      });
    return { writer, applySpy, counts, log, make, stored, cachedConnections };
  }

  it('writes the count of the egress IP this node is active for, and only when it changed', async () => {
    const t = await start();
    const connections = t.make();
    connections.observe(resultOf(gateway('n1'), egress('n1')));
    await connections.publish();
    expect((await t.stored('gw')).status?.connections).toBe(12);
    expect((await t.stored('eg')).status?.connections).toBe(3);
    const managers = (await t.stored('gw')).metadata?.managedFields?.map((m) => m.manager);
    expect(managers).toEqual([CONNECTIONS_FIELD_MANAGER]);

    // Unchanged: no request, before or after the cache caught up.
    await connections.publish();
    await t.cachedConnections(12);
    await connections.publish();
    expect(t.applySpy).toHaveBeenCalledTimes(2);

    t.counts.set(VIP, 40);
    await connections.publish();
    expect(t.applySpy).toHaveBeenCalledTimes(3);
    expect((await t.stored('gw')).status?.connections).toBe(40);
    expect(connections.stats).toEqual({ writes: 3, failures: 0 });
  });

  it('writes nothing for objects another node is active for', async () => {
    const t = await start();
    const connections = t.make({ nodeName: 'n2', statusWriter: true });
    connections.observe(resultOf(gateway('n1'), egress('n3')));
    await connections.publish();
    expect(t.applySpy).not.toHaveBeenCalled();
  });

  it('takes the stored count as reference after a start: an equal count is not written', async () => {
    const t = await start();
    const first = t.make();
    first.observe(resultOf(gateway('n1')));
    await first.publish();
    await t.cachedConnections(12);
    const restarted = t.make();
    restarted.observe(resultOf(gateway('n1')));
    await restarted.publish();
    expect(t.applySpy).toHaveBeenCalledTimes(1);
  });

  it('zeroes a stored count once nobody is active, from the status writer only', async () => {
    const t = await start();
    const active = t.make();
    active.observe(resultOf(gateway('n1')));
    await active.publish();
    await t.cachedConnections(12);

    const bystander = t.make({ nodeName: 'n2', statusWriter: false });
    bystander.observe(resultOf(gateway(undefined)));
    await bystander.publish();
    expect(t.applySpy).toHaveBeenCalledTimes(1);

    const writer = t.make({ nodeName: 'n3', statusWriter: true });
    writer.observe(resultOf(gateway(undefined), egress(undefined)));
    await writer.publish();
    expect((await t.stored('gw')).status?.connections).toBe(0);
    // The Egress never had a count: nothing to zero.
    expect((await t.stored('eg')).status?.connections).toBeUndefined();
    expect(t.applySpy).toHaveBeenCalledTimes(2);
    await t.cachedConnections(0);
    await writer.publish();
    expect(t.applySpy).toHaveBeenCalledTimes(2);
  });

  it('logs counts it cannot read, and a failed write, and tries again at the next pass', async () => {
    const t = await start();
    let broken = true;
    const connections = new KubeConnections({
      informers: informers!,
      writer: t.writer,
      nodeName: 'n1',
      byEgressIP: () => {
        if (broken) throw new Error('core not loaded');
        return t.counts;
      },
      isStatusWriter: () => false,
      log: t.log as unknown as Logger,
    });
    stops.push(connections);
    connections.observe(resultOf(gateway('n1')));
    await expect(connections.publish()).resolves.toBeUndefined();
    expect(t.log.warn).toHaveBeenCalledWith(
      expect.objectContaining({ err: expect.any(Error) }),
      'connection counts could not be read; trying again later',
    );
    expect(t.applySpy).not.toHaveBeenCalled();

    broken = false;
    cluster?.server.setUnavailable();
    await connections.publish();
    expect(connections.stats.failures).toBe(1);
    expect(t.log.warn).toHaveBeenLastCalledWith(
      expect.objectContaining({ object: 'EgressGateway/gw' }),
      'connection count not written; trying again later',
    );
    cluster?.server.setAvailable();
    await connections.publish();
    expect((await t.stored('gw')).status?.connections).toBe(12);
  });

  it('skips objects that are not cached', async () => {
    const t = await start();
    const connections = t.make();
    connections.observe(resultOf({ ...gateway('n1'), name: 'ghost' } as ObjectStatus));
    await connections.publish();
    expect(t.applySpy).not.toHaveBeenCalled();
  });

  it('publishes on its interval once it has statuses, and not after stop()', async () => {
    const t = await start();
    const connections = t.make({ intervalMs: 20 });
    await new Promise((r) => setTimeout(r, 60));
    expect(t.applySpy).not.toHaveBeenCalled();
    connections.observe(resultOf(gateway('n1')));
    await eventually('written by the interval', () => t.applySpy.mock.calls.length === 1);
    connections.stop();
    t.counts.set(VIP, 99);
    await new Promise((r) => setTimeout(r, 60));
    expect(t.applySpy).toHaveBeenCalledTimes(1);
  });
});
