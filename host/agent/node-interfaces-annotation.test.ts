import { CoreV1Api, PatchStrategy, type V1Node } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import {
  eventually,
  startTestCluster,
  type TestCluster,
} from '../../test/support/apiserver/testing.ts';
import type { NodeInterface } from '../control/inputs.ts';
import { ResilientInformer } from '../k8s/informer.ts';
import { nodeKind } from '../k8s/kinds.ts';
import { requestOptions } from '../k8s/request-options.ts';
import {
  formatInterfacesAnnotation,
  INTERFACES_ANNOTATION,
  InterfacesPublisher,
  interfacesAnnotationOf,
  parseInterfacesAnnotation,
} from './node-interfaces-annotation.ts';

const FAST = { watchdogMs: 1_000, retryInitialMs: 20, retryMaxMs: 100, maxReconnectDelayMs: 50 };

const TWO: NodeInterface[] = [
  { name: 'eth0', addresses: ['172.18.18.10/24', '172.18.18.50/24'] },
  { name: 'eth1', addresses: [] },
];

describe('the interfaces annotation format', () => {
  it('round-trips what readOwnInterfaces() gives', () => {
    const text = formatInterfacesAnnotation(TWO);
    expect(text).toBe(
      '[{"name":"eth0","addresses":["172.18.18.10/24","172.18.18.50/24"]},' +
        '{"name":"eth1","addresses":[]}]',
    );
    expect(parseInterfacesAnnotation(text)).toEqual({ ok: true, interfaces: TWO });
    expect(parseInterfacesAnnotation('[]')).toEqual({ ok: true, interfaces: [] });
  });

  it.each([
    ['not JSON', '[{"name":', /^not JSON/],
    ['not a list', '{"name":"eth0","addresses":[]}', /must be a JSON list/],
    ['an entry that is not an object', '["eth0"]', /^\[0\]: must be an object/],
    ['an unknown field', '[{"name":"eth0","addresses":[],"mtu":1500}]', /unknown field "mtu"/],
    ['a missing name', '[{"addresses":[]}]', /^\[0\]\.name: must be a string/],
    ['an empty name', '[{"name":"","addresses":[]}]', /must be 1 to 15 bytes/],
    ['a name over IFNAMSIZ', '[{"name":"abcdefghijklmnop","addresses":[]}]', /1 to 15 bytes/],
    ['a name with a slash', '[{"name":"a/b","addresses":[]}]', /must not contain/],
    ['missing addresses', '[{"name":"eth0"}]', /\.addresses: must be a list/],
    [
      'a number as address',
      '[{"name":"eth0","addresses":[10]}]',
      /addresses\[0\]: must be a string/,
    ],
    ['an address without length', '[{"name":"eth0","addresses":["10.0.0.1"]}]', /prefix length/],
    ['a bad octet', '[{"name":"eth0","addresses":["10.0.0.256/24"]}]', /addresses\[0\]/],
    ['a length over 32', '[{"name":"eth0","addresses":["10.0.0.1/33"]}]', /0 to 32/],
    ['an IPv6 address', '[{"name":"eth0","addresses":["fd00::1/64"]}]', /addresses\[0\]/],
    [
      'a repeated address',
      '[{"name":"eth0","addresses":["10.0.0.1/24","10.0.0.1/24"]}]',
      /listed twice/,
    ],
    [
      'a repeated interface',
      '[{"name":"eth0","addresses":[]},{"name":"eth0","addresses":[]}]',
      /^\[1\]\.name: eth0 is listed twice/,
    ],
  ])('refuses %s', (_what, text, reason) => {
    const parsed = parseInterfacesAnnotation(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.reason).toMatch(reason);
  });
});

describe('InterfacesPublisher', () => {
  let cluster: TestCluster | undefined;
  let nodes: ResilientInformer<V1Node> | undefined;

  afterEach(async () => {
    await nodes?.stop();
    await cluster?.server.stop();
    nodes = undefined;
    cluster = undefined;
  });

  it('annotates its own node only when the interfaces change', async () => {
    cluster = await startTestCluster();
    cluster.server.seed({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'n1', annotations: { 'other.io/keep': 'yes' } },
    });
    const informer = new ResilientInformer(cluster.kc, nodeKind, FAST);
    nodes = informer;
    informer.start();
    await informer.waitForSync(3_000);
    const publisher = new InterfacesPublisher(cluster.kc, {
      nodeName: 'n1',
      cachedNode: () => informer.getByName('n1'),
    });
    const patches = () => cluster?.server.requestCounts.get('patch') ?? 0;

    expect(await publisher.publish(TWO)).toBe(true);
    // The cache has not caught up yet: the same value is not sent twice.
    expect(await publisher.publish(TWO)).toBe(false);
    await eventually(
      'annotation cached',
      () => interfacesAnnotationOf(informer.getByName('n1')) !== undefined,
    );
    expect(await publisher.publish(TWO)).toBe(false);
    expect(patches()).toBe(1);

    const stored = await cluster.kc.makeApiClient(CoreV1Api).readNode({ name: 'n1' });
    expect(stored.metadata?.annotations?.['other.io/keep']).toBe('yes');
    const text = stored.metadata?.annotations?.[INTERFACES_ANNOTATION] ?? '';
    expect(parseInterfacesAnnotation(text)).toEqual({ ok: true, interfaces: TWO });

    const one = [TWO[0]!];
    expect(await publisher.publish(one)).toBe(true);
    await eventually(
      'new annotation cached',
      () => interfacesAnnotationOf(informer.getByName('n1')) === formatInterfacesAnnotation(one),
    );
    expect(patches()).toBe(2);
    expect(publisher.writes).toBe(2);
  });

  it('writes again when someone else changed the annotation', async () => {
    cluster = await startTestCluster();
    cluster.server.seed({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' } });
    const informer = new ResilientInformer(cluster.kc, nodeKind, FAST);
    nodes = informer;
    informer.start();
    await informer.waitForSync(3_000);
    const publisher = new InterfacesPublisher(cluster.kc, {
      nodeName: 'n1',
      cachedNode: () => informer.getByName('n1'),
    });
    await publisher.publish(TWO);
    await eventually(
      'annotation cached',
      () => interfacesAnnotationOf(informer.getByName('n1')) === formatInterfacesAnnotation(TWO),
    );
    await cluster.kc
      .makeApiClient(CoreV1Api)
      .patchNode(
        { name: 'n1', body: { metadata: { annotations: { [INTERFACES_ANNOTATION]: 'junk' } } } },
        requestOptions({ contentType: PatchStrategy.MergePatch }),
      );
    await eventually(
      'junk cached',
      () => interfacesAnnotationOf(informer.getByName('n1')) === 'junk',
    );
    expect(await publisher.publish(TWO)).toBe(true);
  });

  it('throws EGW_K8S_REQUEST when the node does not exist', async () => {
    cluster = await startTestCluster();
    const publisher = new InterfacesPublisher(cluster.kc, {
      nodeName: 'missing',
      cachedNode: () => undefined,
    });
    await expect(publisher.publish(TWO)).rejects.toMatchObject({
      code: 'EGW_K8S_REQUEST',
      httpStatus: 404,
    });
  });
});
