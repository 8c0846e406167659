import { CustomObjectsApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../../test/support/apiserver/testing.ts';
import { type CustomObject, customKind, egressGatewayKind, nodeKind } from './kinds.ts';
import { StatusWriter } from './status-writer.ts';

const GROUP = { group: 'network.deckhouse.io', version: 'v1alpha1', plural: 'egressgateways' };

describe('StatusWriter', () => {
  let cluster: TestCluster;
  let custom: CustomObjectsApi;
  let writer: StatusWriter;

  beforeAll(async () => {
    cluster = await startTestCluster();
    custom = cluster.kc.makeApiClient(CustomObjectsApi);
    writer = new StatusWriter(cluster.kc, { retryInitialMs: 20, retryMaxMs: 50, attempts: 4 });
    await custom.createClusterCustomObject({
      ...GROUP,
      body: {
        apiVersion: 'network.deckhouse.io/v1alpha1',
        kind: 'EgressGateway',
        metadata: { name: 'gw' },
        spec: { sourceIP: { mode: 'VirtualIPAddress', virtualIPAddress: { ip: '10.0.0.5' } } },
      },
    });
  });
  afterAll(async () => {
    await cluster.server.stop();
  });

  it('applies status as field manager egressgw, leaving spec and generation alone', async () => {
    const before = (await custom.getClusterCustomObject({ ...GROUP, name: 'gw' })) as CustomObject;
    const out = await writer.applyStatus(egressGatewayKind, 'gw', {
      activeNode: 'n1',
      readyNodes: ['n1', 'n2'],
    });
    expect(out.status).toEqual({ activeNode: 'n1', readyNodes: ['n1', 'n2'] });
    expect(out.spec).toEqual(before.spec);
    expect(out.metadata?.generation).toBe(before.metadata?.generation);
    const managers = out.metadata?.managedFields?.map((m) => [
      m.manager,
      m.operation,
      m.subresource,
    ]);
    expect(managers).toContainEqual(['egressgw', 'Apply', 'status']);
  });

  it('removes status fields it no longer applies and keeps fields of other managers', async () => {
    // Someone else (another controller) adds a condition through an update of /status.
    const current = (await custom.getClusterCustomObject({ ...GROUP, name: 'gw' })) as CustomObject;
    current.status = { ...current.status, note: 'set by another manager' };
    await custom.replaceClusterCustomObjectStatus({
      ...GROUP,
      name: 'gw',
      body: current,
      fieldManager: 'other',
    });

    const out = await writer.applyStatus(egressGatewayKind, 'gw', { activeNode: 'n2' });
    expect(out.status).toEqual({ activeNode: 'n2', note: 'set by another manager' });
  });

  it('retries through a short outage', async () => {
    // Full jitter can make a few retries shorter than any fixed outage; with 30 attempts
    // the expected wait (~0.7 s) outlasts the 60 ms outage whatever the draws.
    const patient = new StatusWriter(cluster.kc, {
      retryInitialMs: 20,
      retryMaxMs: 50,
      attempts: 30,
    });
    cluster.server.setUnavailable(60);
    const out = await patient.applyStatus(egressGatewayKind, 'gw', { activeNode: 'n3' });
    expect(out.status?.['activeNode']).toBe('n3');
  });

  it('gives up with EGW_STATUS_WRITE_FAILED when the outage outlasts the attempts', async () => {
    cluster.server.setUnavailable();
    try {
      await expect(
        writer.applyStatus(egressGatewayKind, 'gw', { activeNode: 'n4' }),
      ).rejects.toMatchObject({
        code: 'EGW_STATUS_WRITE_FAILED',
        httpStatus: 503,
      });
    } finally {
      cluster.server.setAvailable();
    }
  });

  it('reports a missing object and refuses core kinds', async () => {
    await expect(
      writer.applyStatus(egressGatewayKind, 'nope', { activeNode: 'x' }),
    ).rejects.toMatchObject({
      code: 'EGW_STATUS_TARGET_GONE',
    });
    await expect(writer.applyStatus(nodeKind, 'n1', {})).rejects.toMatchObject({
      code: 'EGW_UNSUPPORTED_KIND',
    });
    const unknown = customKind('example.com', 'v1', 'widgets', 'Widget');
    await expect(writer.applyStatus(unknown, 'w', {})).rejects.toMatchObject({
      code: 'EGW_STATUS_TARGET_GONE',
    });
  });
});
