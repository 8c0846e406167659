import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../../test/support/apiserver/testing.ts';
import { EventRecorder, type ObjectReference } from './event-recorder.ts';

const gateway: ObjectReference = {
  apiVersion: 'network.deckhouse.io/v1alpha1',
  kind: 'EgressGateway',
  name: 'gw',
  uid: '7f1c',
};

describe('EventRecorder', () => {
  let cluster: TestCluster;
  let core: CoreV1Api;
  let clock = Date.parse('2026-01-01T00:00:00Z');

  beforeAll(async () => {
    cluster = await startTestCluster();
    core = cluster.kc.makeApiClient(CoreV1Api);
  });
  afterAll(async () => {
    await cluster.server.stop();
  });

  function recorder(cacheSize = 16): EventRecorder {
    return new EventRecorder(cluster.kc, {
      host: 'node-a',
      cacheSize,
      now: () => {
        clock += 1000;
        return new Date(clock);
      },
    });
  }

  async function eventsFor(name: string) {
    return (
      await core.listNamespacedEvent({
        namespace: 'default',
        fieldSelector: `involvedObject.name=${name}`,
      })
    ).items;
  }

  it('creates one Event and counts repeats on it, as kubectl describe expects', async () => {
    const rec = recorder();
    await rec.record(gateway, 'Normal', 'ActiveNodeChanged', 'active node is now node-a');
    await rec.record(gateway, 'Normal', 'ActiveNodeChanged', 'active node is now node-a');
    await Promise.all([
      rec.record(gateway, 'Normal', 'ActiveNodeChanged', 'active node is now node-a'),
      rec.record(gateway, 'Normal', 'ActiveNodeChanged', 'active node is now node-a'),
    ]);
    const events = await eventsFor('gw');
    expect(events).toHaveLength(1);
    const ev = events[0]!;
    expect(ev.count).toBe(4);
    expect(ev.type).toBe('Normal');
    expect(ev.source).toEqual({ component: 'egressgw', host: 'node-a' });
    expect(ev.involvedObject).toMatchObject({ kind: 'EgressGateway', name: 'gw', uid: '7f1c' });
    expect(ev.lastTimestamp!.getTime() - ev.firstTimestamp!.getTime()).toBe(3000);
    expect(ev.metadata?.name).toMatch(/^gw\.[0-9a-f]+$/);
  });

  it('keeps different messages and reasons apart and puts namespaced events in their namespace', async () => {
    const rec = recorder();
    const other = { ...gateway, name: 'gw2' };
    await rec.record(other, 'Warning', 'NoSuitableNode', 'no node is Ready');
    await rec.record(other, 'Warning', 'NoSuitableNode', 'node-b is cordoned');
    await rec.record(other, 'Normal', 'ActiveNodeChanged', 'node-c');
    expect((await eventsFor('gw2')).map((e) => [e.reason, e.count]).sort()).toEqual([
      ['ActiveNodeChanged', 1],
      ['NoSuitableNode', 1],
      ['NoSuitableNode', 1],
    ]);
    await rec.record(
      { apiVersion: 'v1', kind: 'Pod', name: 'p', namespace: 'kube-system' },
      'Normal',
      'Selected',
      'x',
    );
    const inNs = await core.listNamespacedEvent({ namespace: 'kube-system' });
    expect(inNs.items.map((e) => e.involvedObject.name)).toEqual(['p']);
  });

  it('recreates an Event that was deleted, keeping the running count', async () => {
    const rec = recorder();
    const obj = { ...gateway, name: 'gw3' };
    await rec.record(obj, 'Normal', 'R', 'm');
    const [first] = await eventsFor('gw3');
    await core.deleteNamespacedEvent({ namespace: 'default', name: first!.metadata!.name! });
    await rec.record(obj, 'Normal', 'R', 'm');
    const events = await eventsFor('gw3');
    expect(events).toHaveLength(1);
    expect(events[0]!.count).toBe(2);
  });

  it('fails with a code when the server is down and recovers after', async () => {
    const rec = recorder();
    const obj = { ...gateway, name: 'gw4' };
    cluster.server.setUnavailable();
    try {
      await expect(rec.record(obj, 'Normal', 'R', 'm')).rejects.toMatchObject({
        code: 'EGW_EVENT_WRITE_FAILED',
        httpStatus: 503,
      });
    } finally {
      cluster.server.setAvailable();
    }
    await rec.record(obj, 'Normal', 'R', 'm');
    expect((await eventsFor('gw4'))[0]?.count).toBe(1);
  });

  it('forgets the least recently used events beyond its cache size', async () => {
    const rec = recorder(1);
    const obj = { ...gateway, name: 'gw5' };
    await rec.record(obj, 'Normal', 'A', 'm');
    await rec.record(obj, 'Normal', 'B', 'm');
    await rec.record(obj, 'Normal', 'A', 'm');
    expect((await eventsFor('gw5')).map((e) => e.reason).sort()).toEqual(['A', 'A', 'B']);
  });
});
