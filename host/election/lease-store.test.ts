import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isElectionError } from './errors.ts';
import { holderIdentity, leaseNameFor, parseHolderIdentity } from './lease-store.ts';
import { MemoryLeaseStore } from './memory-lease-store.ts';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

const spec = {
  holderIdentity: 'gw-a/1',
  leaseDurationSeconds: 2,
  acquireTime: new Date('2026-01-01T00:00:00.000Z'),
  renewTime: new Date('2026-01-01T00:00:00.000Z'),
  leaseTransitions: 0,
};

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'resolved';
  } catch (error) {
    return isElectionError(error) ? error.code : String(error);
  }
}

describe('leaseNameFor', () => {
  it('is readable for ordinary keys', () => {
    expect(leaseNameFor('EgressGateway/my-gw')).toMatch(
      /^egressgw-egressgateway-my-gw-[0-9a-f]{10}$/,
    );
    expect(leaseNameFor('Egress/web.prod')).toMatch(/^egressgw-egress-web-prod-[0-9a-f]{10}$/);
  });

  it('is always a DNS label, and keys that sanitise alike still differ', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), fc.string({ maxLength: 300 }), (a, b) => {
        expect(leaseNameFor(a)).toMatch(DNS_LABEL);
        if (a !== b) expect(leaseNameFor(a)).not.toBe(leaseNameFor(b));
      }),
    );
    expect(leaseNameFor('Egress/a.b')).not.toBe(leaseNameFor('Egress/a-b'));
    expect(leaseNameFor('///')).toMatch(/^egressgw-[0-9a-f]{10}$/);
  });
});

describe('holder identity', () => {
  it('round-trips node and incarnation and reads foreign identities as a bare node', () => {
    expect(parseHolderIdentity(holderIdentity('gw-a', 1732251151234))).toEqual({
      node: 'gw-a',
      incarnation: 1732251151234,
    });
    expect(parseHolderIdentity('gw-a')).toEqual({ node: 'gw-a', incarnation: null });
    expect(parseHolderIdentity('gw-a/x')).toEqual({ node: 'gw-a', incarnation: null });
    expect(parseHolderIdentity('')).toBeNull();
    expect(parseHolderIdentity(null)).toBeNull();
  });
});

describe('MemoryLeaseStore', () => {
  it('creates once, then replaces only at the current resourceVersion', async () => {
    const store = new MemoryLeaseStore();
    expect(await store.read('l')).toBeNull();
    const created = await store.create('l', spec);
    expect(created).toMatchObject({ name: 'l', holderIdentity: 'gw-a/1' });
    expect(await codeOf(store.create('l', spec))).toBe('EGW_LEASE_CONFLICT');
    const replaced = await store.replace(
      'l',
      { ...spec, holderIdentity: 'gw-b/1' },
      created.resourceVersion,
    );
    expect(replaced.resourceVersion).not.toBe(created.resourceVersion);
    expect(await codeOf(store.replace('l', spec, created.resourceVersion))).toBe(
      'EGW_LEASE_CONFLICT',
    );
    expect((await store.read('l'))?.holderIdentity).toBe('gw-b/1');
  });

  it('treats a replace of a missing Lease as a conflict and never reuses a version', async () => {
    const store = new MemoryLeaseStore();
    const first = await store.create('l', spec);
    store.delete('l');
    expect(await codeOf(store.replace('l', spec, first.resourceVersion))).toBe(
      'EGW_LEASE_CONFLICT',
    );
    const second = await store.create('l', spec);
    expect(second.resourceVersion).not.toBe(first.resourceVersion);
  });

  it('hands out copies, so callers cannot change what is stored', async () => {
    const store = new MemoryLeaseStore();
    const created = await store.create('l', spec);
    created.holderIdentity = 'mallory';
    created.renewTime?.setTime(0);
    expect(store.peek('l')).toMatchObject({ holderIdentity: 'gw-a/1', renewTime: spec.renewTime });
  });

  it('fails every call with EGW_LEASE_UNAVAILABLE while unavailable', async () => {
    const store = new MemoryLeaseStore();
    store.available = false;
    expect(await codeOf(store.read('l'))).toBe('EGW_LEASE_UNAVAILABLE');
    expect(await codeOf(store.create('l', spec))).toBe('EGW_LEASE_UNAVAILABLE');
    expect(await codeOf(store.replace('l', spec, '1'))).toBe('EGW_LEASE_UNAVAILABLE');
  });
});
