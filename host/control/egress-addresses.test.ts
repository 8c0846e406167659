import { describe, expect, it } from 'vitest';
import { type CompileResult, compile } from './compile.ts';
import { antreaCluster } from './fixtures/cluster.ts';

/**
 * Pool allocation through compile(): which address each Egress gets, and that it keeps
 * it. `feedBack` plays the status writer: it copies each computed status into the
 * objects, as the API server would hold them for the next round.
 */

type Obj = Record<string, unknown> & {
  metadata: Record<string, unknown>;
  spec: Record<string, unknown>;
};

function pool(name: string, ipRanges: unknown[]): Obj {
  return {
    apiVersion: 'crd.antrea.io/v1beta1',
    kind: 'ExternalIPPool',
    metadata: { name },
    spec: { ipRanges },
  };
}

function egress(name: string, spec: Record<string, unknown>, creationTimestamp?: string): Obj {
  return {
    apiVersion: 'crd.antrea.io/v1beta1',
    kind: 'Egress',
    metadata: creationTimestamp === undefined ? { name } : { name, creationTimestamp },
    spec: { appliedTo: { podSelector: { matchLabels: { app: 'web' } } }, ...spec },
  };
}

const fromPool = (poolName = 'p') => ({ externalIPPool: poolName });

function ips(result: CompileResult): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const s of result.statuses) {
    if (s.kind === 'Egress') out[s.name] = (s.status as { egressIP?: string }).egressIP;
  }
  return out;
}

function feedBack(objects: Obj[], result: CompileResult): Obj[] {
  return objects.map((o) => {
    const status = result.statuses.find((s) => s.kind === o.kind && s.name === o.metadata.name);
    return status === undefined
      ? o
      : { ...structuredClone(o), status: structuredClone(status.status) };
  });
}

describe('which addresses a pool hands out', () => {
  it('a range gives start to end inclusive, lowest first', () => {
    const objects = [
      pool('p', [{ start: '10.10.0.11', end: '10.10.0.12' }]),
      egress('a', fromPool()),
      egress('b', fromPool()),
      egress('c', fromPool()),
    ];
    expect(ips(compile(objects, antreaCluster()))).toEqual({
      a: '10.10.0.11',
      b: '10.10.0.12',
      c: undefined,
    });
  });

  it('a /30 cidr skips its network and broadcast addresses (as Antrea does)', () => {
    const objects = [
      pool('p', [{ cidr: '10.10.1.0/30' }]),
      ...['a', 'b', 'c'].map((n) => egress(n, fromPool())),
    ];
    expect(ips(compile(objects, antreaCluster()))).toEqual({
      a: '10.10.1.1',
      b: '10.10.1.2',
      c: undefined,
    });
  });

  it('a /31 gives both addresses and a /32 its one (where Antrea gives none)', () => {
    const objects = [
      pool('p', [{ cidr: '10.10.2.0/31' }, { cidr: '10.10.3.7/32' }]),
      ...['a', 'b', 'c', 'd'].map((n) => egress(n, fromPool())),
    ];
    const result = compile(objects, antreaCluster());
    expect(ips(result)).toEqual({ a: '10.10.2.0', b: '10.10.2.1', c: '10.10.3.7', d: undefined });
    const poolStatus = result.statuses.find((s) => s.kind === 'ExternalIPPool')!;
    expect(poolStatus.status).toMatchObject({ usage: { total: 3, used: 3 } });
  });

  it('ranges are used in spec order, not address order', () => {
    const objects = [
      pool('p', [
        { start: '10.10.9.1', end: '10.10.9.1' },
        { start: '10.10.0.1', end: '10.10.0.1' },
      ]),
      egress('a', fromPool()),
      egress('b', fromPool()),
    ];
    expect(ips(compile(objects, antreaCluster()))).toEqual({ a: '10.10.9.1', b: '10.10.0.1' });
  });

  it('a pool never hands out a gateway VIP or a static Egress IP', () => {
    const gateway = {
      apiVersion: 'network.deckhouse.io/v1alpha1',
      kind: 'EgressGateway',
      metadata: { name: 'gw' },
      spec: { sourceIP: { mode: 'VirtualIPAddress', virtualIPAddress: { ip: '10.10.0.1' } } },
    };
    const objects = [
      pool('p', [{ start: '10.10.0.1', end: '10.10.0.4' }]),
      gateway,
      egress('static', { egressIP: '10.10.0.2' }),
      egress('x', fromPool()),
    ];
    const result = compile(objects, antreaCluster());
    expect(ips(result)).toEqual({ static: '10.10.0.2', x: '10.10.0.3' });
    // Used counts every taken address of the pool, whoever holds it.
    const poolStatus = result.statuses.find((s) => s.kind === 'ExternalIPPool')!;
    expect(poolStatus.status).toMatchObject({ usage: { total: 4, used: 3 } });
  });
});

describe('exhaustion', () => {
  it('the last Egress gets IPAllocated False PoolExhausted and a Warning, the others are untouched', () => {
    const objects = [
      pool('p', [{ start: '10.10.0.11', end: '10.10.0.12' }]),
      egress('a', fromPool()),
      egress('b', fromPool()),
      egress('c', fromPool()),
    ];
    const result = compile(objects, antreaCluster());
    const c = result.statuses.find((s) => s.name === 'c')!;
    const message = 'ExternalIPPool p has no free address (all 2 are in use)';
    expect(c.status.conditions).toEqual([
      { type: 'Valid', status: 'True', reason: 'Valid', message: 'the spec is valid' },
      { type: 'IPAllocated', status: 'False', reason: 'PoolExhausted', message },
    ]);
    expect(c.events).toEqual([{ type: 'Warning', reason: 'PoolExhausted', message }]);
    expect(result.state.groups.map((g) => g.key)).toEqual(['Egress/a', 'Egress/b']);
    expect(result.state.rules.map((r) => r.id)).toEqual(['Egress/a', 'Egress/b']);
  });
});

describe('determinism and stability', () => {
  it('Egresses asking at once are served oldest first, then by name', () => {
    const objects = [
      pool('p', [{ start: '10.10.0.11', end: '10.10.0.20' }]),
      egress('a-newest', fromPool(), '2026-03-01T00:00:00Z'),
      egress('z-oldest', fromPool(), '2026-01-01T00:00:00Z'),
      egress('m-same-1', fromPool(), '2026-02-01T00:00:00Z'),
      egress('b-same-2', fromPool(), '2026-02-01T00:00:00Z'),
    ];
    expect(ips(compile(objects, antreaCluster()))).toEqual({
      'a-newest': '10.10.0.14',
      'b-same-2': '10.10.0.12',
      'm-same-1': '10.10.0.13',
      'z-oldest': '10.10.0.11',
    });
    // Input order does not matter.
    expect(ips(compile([...objects].reverse(), antreaCluster()))).toEqual(
      ips(compile(objects, antreaCluster())),
    );
  });

  it('an Egress keeps the address recorded in its status (a restart changes nothing)', () => {
    const objects = [
      pool('p', [{ start: '10.10.0.11', end: '10.10.0.20' }]),
      egress('a', fromPool()),
    ];
    (objects[1] as Obj).status = { egressIP: '10.10.0.17' };
    expect(ips(compile(objects, antreaCluster()))).toEqual({ a: '10.10.0.17' });
  });

  it('compiling again with the written statuses gives the same addresses', () => {
    let objects = [
      pool('p', [{ start: '10.10.0.11', end: '10.10.0.20' }]),
      ...['a', 'b', 'c'].map((n) => egress(n, fromPool())),
    ];
    const first = compile(objects, antreaCluster());
    objects = feedBack(objects, first);
    const second = compile(objects, antreaCluster());
    expect(second.statuses).toEqual(first.statuses);
    expect(second.state).toEqual(first.state);
  });

  it('deleting one Egress moves no other; the freed address goes to the next newcomer', () => {
    let objects = [
      pool('p', [{ start: '10.10.0.11', end: '10.10.0.20' }]),
      ...['a', 'b', 'c'].map((n) => egress(n, fromPool())),
    ];
    objects = feedBack(objects, compile(objects, antreaCluster()));
    const withoutA = objects.filter((o) => o.metadata.name !== 'a');
    expect(ips(compile(withoutA, antreaCluster()))).toEqual({ b: '10.10.0.12', c: '10.10.0.13' });
    const newcomer = [...withoutA, egress('d', fromPool())];
    expect(ips(compile(newcomer, antreaCluster()))).toEqual({
      b: '10.10.0.12',
      c: '10.10.0.13',
      d: '10.10.0.11',
    });
  });

  it('a recorded address that left the pool is replaced', () => {
    const objects = [
      pool('p', [{ start: '10.10.0.11', end: '10.10.0.20' }]),
      egress('a', fromPool()),
    ];
    (objects[1] as Obj).status = { egressIP: '10.10.0.99' };
    expect(ips(compile(objects, antreaCluster()))).toEqual({ a: '10.10.0.11' });
  });

  it('a recorded address of another pool is replaced when the Egress changes pool', () => {
    const objects = [
      pool('p', [{ start: '10.10.0.11', end: '10.10.0.20' }]),
      pool('q', [{ start: '10.20.0.1', end: '10.20.0.5' }]),
      egress('a', fromPool('q')),
    ];
    (objects[2] as Obj).status = { egressIP: '10.10.0.15' };
    expect(ips(compile(objects, antreaCluster()))).toEqual({ a: '10.20.0.1' });
  });
});

describe('conflicts', () => {
  it('the same static egressIP in two Egresses: the older keeps it, the newer gets IPConflict', () => {
    const objects = [
      egress('new', { egressIP: '10.10.0.104' }, '2026-02-01T00:00:00Z'),
      egress('old', { egressIP: '10.10.0.104' }, '2026-01-01T00:00:00Z'),
    ];
    const result = compile(objects, antreaCluster());
    expect(result.state.groups.map((g) => g.key)).toEqual(['Egress/old']);
    const message = 'spec.egressIP: 10.10.0.104 is already used by Egress/old';
    const fresh = result.statuses.find((s) => s.name === 'new')!;
    expect(fresh.status.conditions?.[0]).toEqual({
      type: 'Valid',
      status: 'False',
      reason: 'IPConflict',
      message,
    });
    expect(fresh.events).toEqual([{ type: 'Warning', reason: 'IPConflict', message }]);
  });

  it('an explicit egressIP that an older Egress holds from the pool is a conflict; the holder keeps it', () => {
    const objects = [
      pool('p', [{ start: '10.10.0.11', end: '10.10.0.20' }]),
      egress('holder', fromPool(), '2026-01-01T00:00:00Z'),
      egress('wants', { ...fromPool(), egressIP: '10.10.0.11' }, '2026-02-01T00:00:00Z'),
    ];
    (objects[1] as Obj).status = { egressIP: '10.10.0.11' };
    const result = compile(objects, antreaCluster());
    expect(ips(result)).toEqual({ holder: '10.10.0.11', wants: undefined });
    expect(result.statuses.find((s) => s.name === 'wants')!.status.conditions?.[0]?.reason).toBe(
      'IPConflict',
    );
  });

  it('an explicit egressIP older than a recorded one wins, and the recorder moves', () => {
    const objects = [
      pool('p', [{ start: '10.10.0.11', end: '10.10.0.20' }]),
      egress('recorder', fromPool(), '2026-02-01T00:00:00Z'),
      egress('explicit', { ...fromPool(), egressIP: '10.10.0.11' }, '2026-01-01T00:00:00Z'),
    ];
    (objects[1] as Obj).status = { egressIP: '10.10.0.11' };
    expect(ips(compile(objects, antreaCluster()))).toEqual({
      explicit: '10.10.0.11',
      recorder: '10.10.0.12',
    });
  });
});
