import { describe, expect, it } from 'vitest';
import type { NodeInput, PodInput } from '../control/inputs.ts';
import { coreKindOf, readCoreObject } from './core-objects.ts';

function podInput(raw: Record<string, unknown>): PodInput | null {
  const read = readCoreObject('Pod', raw);
  if (read.kind !== 'Pod') throw new Error(`read a Pod as a ${read.kind}`);
  return read.input;
}

const node = (extra: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name: 'worker-1', labels: { 'node-role.deckhouse.io/egress': '' } },
  spec: {},
  status: {
    conditions: [
      { type: 'MemoryPressure', status: 'False' },
      { type: 'Ready', status: 'True' },
    ],
    addresses: [
      { type: 'Hostname', address: 'worker-1' },
      { type: 'InternalIP', address: '172.18.18.10' },
      { type: 'InternalIP', address: 'fd00::10' },
      { type: 'ExternalIP', address: '203.0.113.10' },
    ],
  },
  ...extra,
});

const pod = (status: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web-0', namespace: 'prod', labels: { app: 'web' } },
  spec: { nodeName: 'worker-1' },
  status,
  ...extra,
});

describe('coreKindOf', () => {
  it('knows v1 Node, Pod and Namespace only', () => {
    expect(coreKindOf(node())).toBe('Node');
    expect(coreKindOf({ apiVersion: 'v1', kind: 'Namespace' })).toBe('Namespace');
    expect(coreKindOf({ apiVersion: 'v1', kind: 'Service' })).toBeNull();
    expect(coreKindOf({ apiVersion: 'apps/v1', kind: 'Pod' })).toBeNull();
    expect(coreKindOf(null)).toBeNull();
    expect(coreKindOf([])).toBeNull();
  });
});

describe('readCoreObject: Node', () => {
  it('reads Ready, cordon, labels and the IPv4 InternalIP/ExternalIP addresses', () => {
    expect(readCoreObject('Node', node())).toEqual({
      kind: 'Node',
      name: 'worker-1',
      input: {
        name: 'worker-1',
        labels: { 'node-role.deckhouse.io/egress': '' },
        ready: true,
        unschedulable: false,
        addresses: ['172.18.18.10', '203.0.113.10'],
        interfaces: null,
        podCIDRs: [],
      },
      issues: [],
    });
    const cordoned = readCoreObject('Node', node({ spec: { unschedulable: true } }));
    const withPods = readCoreObject(
      'Node',
      node({ spec: { podCIDRs: ['10.244.1.0/24', 'fd00:10:244:1::/64'] } }),
    );
    expect((withPods.input as NodeInput | null)?.podCIDRs).toEqual(['10.244.1.0/24']);
    const legacy = readCoreObject('Node', node({ spec: { podCIDR: '10.244.2.0/24' } }));
    expect((legacy.input as NodeInput | null)?.podCIDRs).toEqual(['10.244.2.0/24']);
    const bad = readCoreObject('Node', node({ spec: { podCIDRs: ['10.244.1.0/33'] } }));
    expect((bad.input as NodeInput | null)?.podCIDRs).toEqual([]);
    expect(bad.issues[0]?.message).toMatch(/spec\.podCIDRs\[0\]/);
    expect(cordoned.input).toMatchObject({ unschedulable: true, ready: true });
  });

  it('is not ready unless Ready is True, and warns when there is no Ready condition', () => {
    const notReady = readCoreObject(
      'Node',
      node({ status: { conditions: [{ type: 'Ready', status: 'Unknown' }] } }),
    );
    expect(notReady.input).toMatchObject({ ready: false, addresses: [] });
    expect(notReady.issues).toEqual([]);

    const bare = readCoreObject('Node', {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'n' },
    });
    expect(bare.input).toEqual({
      name: 'n',
      labels: {},
      ready: false,
      unschedulable: false,
      addresses: [],
      interfaces: null,
      podCIDRs: [],
    });
    expect(bare.issues).toEqual([
      expect.objectContaining({
        severity: 'warning',
        message: expect.stringMatching(/^status\.conditions: no Ready/),
      }),
    ]);
  });

  it('refuses a node whose fields have the wrong shape, saying where', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ metadata: {} }, 'metadata.name: required field is missing'],
      [{ metadata: { name: 7 } }, 'metadata.name: must be string, got 7'],
      [
        { metadata: { name: 'n', labels: { tier: 1 } } },
        'metadata.labels["tier"]: must be string, got 1',
      ],
      [{ metadata: { name: 'n', labels: [] } }, 'metadata.labels: must be object, got []'],
      [{ spec: { unschedulable: 'yes' } }, 'spec.unschedulable: must be boolean, got "yes"'],
      [{ status: { conditions: {} } }, 'status.conditions: must be array, got {}'],
      [{ status: { conditions: ['Ready'] } }, 'status.conditions[0]: must be object, got "Ready"'],
      [
        {
          status: {
            conditions: [{ type: 'Ready', status: 'True' }],
            addresses: [{ type: 'InternalIP', address: '10.0.0.256' }],
          },
        },
        'status.addresses[0].address: invalid IPv4 address "10.0.0.256": octet 256 is above 255',
      ],
    ];
    for (const [change, message] of cases) {
      const read = readCoreObject('Node', node(change));
      expect(read.input, message).toBeNull();
      expect(
        read.issues.map((i) => i.message),
        message,
      ).toContain(message);
    }
  });
});

describe('readCoreObject: Pod', () => {
  it('reads phase, IP, node, labels, namespace and host networking', () => {
    const read = readCoreObject('Pod', pod({ phase: 'Running', podIP: '10.244.1.7' }));
    expect(read).toEqual({
      kind: 'Pod',
      name: 'web-0',
      input: {
        namespace: 'prod',
        name: 'web-0',
        labels: { app: 'web' },
        ip: '10.244.1.7',
        nodeName: 'worker-1',
        phase: 'Running',
        hostNetwork: false,
        ready: false,
      },
      issues: [],
    });
    const ready = readCoreObject(
      'Pod',
      pod({
        phase: 'Running',
        podIP: '10.244.1.7',
        conditions: [{ type: 'Ready', status: 'True' }],
      }),
    );
    expect(ready.input).toMatchObject({ ready: true });
    const host = readCoreObject(
      'Pod',
      pod({ phase: 'Running', podIP: '172.18.18.10' }, { spec: { hostNetwork: true } }),
    );
    expect(host.input).toMatchObject({ hostNetwork: true, nodeName: null });
  });

  it('uses the API server defaults: namespace default, phase Pending, no IP', () => {
    const read = readCoreObject('Pod', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' } });
    expect(read.input).toEqual({
      namespace: 'default',
      name: 'p',
      labels: {},
      ip: null,
      nodeName: null,
      phase: 'Pending',
      hostNetwork: false,
      ready: false,
    });
    expect(read.issues).toEqual([]);
  });

  it('takes the IPv4 address of an IPv6-first dual-stack pod from podIPs', () => {
    const dualStack = podInput(
      pod({
        phase: 'Running',
        podIP: 'fd00::7',
        podIPs: [{ ip: 'fd00::7' }, { ip: '10.244.1.7' }],
      }),
    );
    expect(dualStack?.ip).toBe('10.244.1.7');
    expect(podInput(pod({ phase: 'Running', podIP: 'fd00::7' }))?.ip).toBeNull();
  });

  it('refuses a bad phase or address', () => {
    const phase = readCoreObject('Pod', pod({ phase: 'running' }));
    expect(phase.input).toBeNull();
    expect(phase.issues[0]?.message).toBe(
      'status.phase: "running" is not one of Pending, Running, Succeeded, Failed, Unknown',
    );
    const ip = readCoreObject('Pod', pod({ phase: 'Running', podIPs: [{ ip: '10.1' }] }));
    expect(ip.input).toBeNull();
    expect(ip.issues[0]).toMatchObject({
      reason: 'InvalidIP',
      message: expect.stringMatching(/^status\.podIPs\[0\]\.ip: /),
    });
  });
});

describe('readCoreObject: Namespace', () => {
  it('reads the name and labels', () => {
    const read = readCoreObject('Namespace', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'prod', labels: { env: 'prod' } },
    });
    expect(read).toEqual({
      kind: 'Namespace',
      name: 'prod',
      input: { name: 'prod', labels: { env: 'prod' } },
      issues: [],
    });
  });
});
