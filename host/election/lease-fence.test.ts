import { describe, expect, it } from 'vitest';
import { isElectionError } from './errors.ts';
import { type HolderLiveness, LeaseFence } from './lease-fence.ts';
import { leaseNameFor } from './lease-store.ts';
import { MemoryLeaseStore } from './memory-lease-store.ts';

const group = 'EgressGateway/gw';
const lease = leaseNameFor(group);

/** A manual clock and what heartbeats say, both set by the test. */
function world() {
  const state = {
    now: 0,
    alive: new Map<string, number>(),
    dead: new Map<string, number>(),
  };
  const liveness: HolderLiveness = {
    aliveIncarnation: (node) => state.alive.get(node) ?? null,
    deadSince: (node) => state.dead.get(node) ?? null,
  };
  const store = new MemoryLeaseStore();
  const fence = (node: string, incarnation = 1) =>
    new LeaseFence({
      store,
      node,
      incarnation,
      now: () => state.now,
      wallClock: () => new Date(Date.UTC(2026, 0, 1) + state.now),
    });
  return { state, liveness, store, fence };
}

describe('LeaseFence', () => {
  it('creates a missing Lease and holds it until the renew deadline', async () => {
    const { state, liveness, store, fence } = world();
    const a = fence('gw-a');
    state.now = 100;
    expect(await a.acquire(group, liveness)).toEqual({ acquired: true, previousHolder: null });
    expect(a.holds(group)).toBe(true);
    expect(a.validUntil(group)).toBe(1600);
    expect(a.renewDueAt(group)).toBe(600);
    expect(store.peek(lease)).toMatchObject({
      holderIdentity: 'gw-a/1',
      leaseDurationSeconds: 2,
      leaseTransitions: 0,
      renewTime: new Date(Date.UTC(2026, 0, 1) + 100),
    });
  });

  it('renews, moving the deadline and keeping acquireTime', async () => {
    const { state, liveness, store, fence } = world();
    const a = fence('gw-a');
    await a.acquire(group, liveness);
    const acquireTime = store.peek(lease)?.acquireTime;
    state.now = 500;
    expect(await a.renew(group)).toBe(true);
    expect(a.validUntil(group)).toBe(2000);
    expect(store.peek(lease)?.acquireTime).toEqual(acquireTime);
    expect(store.peek(lease)?.renewTime).toEqual(new Date(Date.UTC(2026, 0, 1) + 500));
  });

  it('does not take a Lease held by an alive node before it expires', async () => {
    const { state, liveness, fence } = world();
    await fence('gw-a').acquire(group, liveness);
    state.alive.set('gw-a', 1);
    const b = fence('gw-b');
    state.now = 10;
    expect(await b.acquire(group, liveness)).toEqual({
      acquired: false,
      holder: 'gw-a',
      retryAt: 510,
    });
    expect(b.holds(group)).toBe(false);
  });

  it('starts the expiry clock at a plain read (observe), so a watcher need not wait again', async () => {
    const { state, liveness, fence } = world();
    await fence('gw-a').acquire(group, liveness);
    state.alive.set('gw-a', 1);
    const b = fence('gw-b');
    state.now = 300;
    await b.observe(group); // a standby's regular read: it first sees this version now
    state.now = 2299;
    expect(await b.acquire(group, liveness)).toMatchObject({ acquired: false, holder: 'gw-a' });
    state.now = 2300;
    expect(await b.acquire(group, liveness)).toEqual({ acquired: true, previousHolder: 'gw-a' });
  });

  it('observes a missing Lease without error, and fails like the store when it is down', async () => {
    const { store, fence } = world();
    const b = fence('gw-b');
    await expect(b.observe(group)).resolves.toBeUndefined();
    store.available = false;
    const error = await b.observe(group).catch((e: unknown) => e);
    expect(isElectionError(error, 'EGW_LEASE_UNAVAILABLE')).toBe(true);
  });

  it('takes a Lease unchanged for its duration on its own clock (holder silent)', async () => {
    const { state, liveness, store, fence } = world();
    await fence('gw-a').acquire(group, liveness);
    const b = fence('gw-b');
    state.now = 5000; // long after renewTime, but b only starts watching now
    expect((await b.acquire(group, liveness)).acquired).toBe(false);
    state.now = 6999;
    expect((await b.acquire(group, liveness)).acquired).toBe(false);
    state.now = 7000;
    expect(await b.acquire(group, liveness)).toEqual({ acquired: true, previousHolder: 'gw-a' });
    expect(store.peek(lease)).toMatchObject({ holderIdentity: 'gw-b/1', leaseTransitions: 1 });
  });

  it('restarts the expiry wait whenever the holder renews', async () => {
    const { state, liveness, fence } = world();
    const a = fence('gw-a');
    await a.acquire(group, liveness);
    const b = fence('gw-b');
    await b.acquire(group, liveness);
    state.now = 1500;
    await a.renew(group);
    state.now = 2100;
    expect((await b.acquire(group, liveness)).acquired).toBe(false);
    state.now = 3599;
    expect((await b.acquire(group, liveness)).acquired).toBe(false);
  });

  it('takes the Lease of a node dead for the fencing margin, not before', async () => {
    const { state, liveness, fence } = world();
    await fence('gw-a').acquire(group, liveness);
    const b = fence('gw-b');
    state.now = 400;
    state.dead.set('gw-a', 400);
    expect(await b.acquire(group, liveness)).toEqual({
      acquired: false,
      holder: 'gw-a',
      retryAt: 550,
    });
    state.now = 550;
    expect(await b.acquire(group, liveness)).toEqual({ acquired: true, previousHolder: 'gw-a' });
  });

  it('takes a Lease left by an earlier run: its own, or a peer that restarted', async () => {
    const { state, liveness, fence } = world();
    await fence('gw-a', 1).acquire(group, liveness);
    expect((await fence('gw-a', 2).acquire(group, liveness)).acquired).toBe(true);
    state.alive.set('gw-a', 3); // gw-a restarted again, its run 2 is gone
    expect((await fence('gw-b').acquire(group, liveness)).acquired).toBe(true);
  });

  it('takes a released Lease at once, and the old holder cannot renew', async () => {
    const { state, liveness, fence, store } = world();
    const a = fence('gw-a');
    await a.acquire(group, liveness);
    state.alive.set('gw-a', 1);
    await a.release(group);
    expect(a.holds(group)).toBe(false);
    expect(store.peek(lease)?.holderIdentity).toBeNull();
    expect(await fence('gw-b').acquire(group, liveness)).toEqual({
      acquired: true,
      previousHolder: null,
    });
    expect(await a.renew(group)).toBe(false);
  });

  it('reports a lost Lease on renew after another node took it', async () => {
    const { state, liveness, fence } = world();
    const a = fence('gw-a');
    await a.acquire(group, liveness);
    state.dead.set('gw-a', 0);
    state.now = 200;
    expect((await fence('gw-b').acquire(group, liveness)).acquired).toBe(true);
    expect(await a.renew(group)).toBe(false);
    expect(a.holds(group)).toBe(false);
  });

  it('does not take back by heartbeats a Lease lost to a node it sees dead', async () => {
    const { state, liveness, fence } = world();
    const a = fence('gw-a');
    const b = fence('gw-b');
    await a.acquire(group, liveness);
    // Heartbeats between a and b fail both ways; both still reach the store.
    state.dead.set('gw-a', 0);
    state.dead.set('gw-b', 0);
    state.now = 200;
    expect((await b.acquire(group, liveness)).acquired).toBe(true);
    expect(await a.renew(group)).toBe(false);
    state.now = 400;
    expect(await a.acquire(group, liveness)).toMatchObject({ acquired: false, holder: 'gw-b' });
    // Heartbeats come back: the fast path is open again should b die later.
    state.dead.delete('gw-b');
    state.alive.set('gw-b', 1);
    expect((await a.acquire(group, liveness)).acquired).toBe(false);
    state.alive.delete('gw-b');
    state.dead.set('gw-b', 500);
    state.now = 650;
    expect(await a.acquire(group, liveness)).toEqual({ acquired: true, previousHolder: 'gw-b' });
  });

  it('recovers from a renew whose answer was lost (its write landed)', async () => {
    const { state, liveness, store, fence } = world();
    const a = fence('gw-a');
    await a.acquire(group, liveness);
    // The same run's write landed, but we never saw the new resourceVersion.
    const current = store.peek(lease)!;
    await store.replace(lease, { ...current }, current.resourceVersion);
    state.now = 500;
    expect(await a.renew(group)).toBe(true);
    expect(a.validUntil(group)).toBe(2000);
  });

  it('loses a race for a free Lease without an error', async () => {
    const { liveness, fence } = world();
    const a = fence('gw-a');
    const b = fence('gw-b');
    const [ra, rb] = await Promise.all([a.acquire(group, liveness), b.acquire(group, liveness)]);
    expect([ra.acquired, rb.acquired].sort()).toEqual([false, true]);
  });

  it('throws EGW_LEASE_UNAVAILABLE when the store is down and keeps the deadline', async () => {
    const { state, liveness, store, fence } = world();
    const a = fence('gw-a');
    await a.acquire(group, liveness);
    store.available = false;
    state.now = 500;
    const error = await a.renew(group).catch((e: unknown) => e);
    expect(isElectionError(error, 'EGW_LEASE_UNAVAILABLE')).toBe(true);
    expect(a.validUntil(group)).toBe(1500);
  });

  it('rejects timings that cannot fence', () => {
    const { store } = world();
    const make = () =>
      new LeaseFence({
        store,
        node: 'gw-a',
        incarnation: 1,
        now: () => 0,
        renewDeadlineMs: 2500,
      });
    expect(make).toThrow(/renewDeadline < leaseDuration/);
  });
});

describe('LeaseFence.release', () => {
  it('still releases when a renew of the same run landed first', async () => {
    const { liveness, store, fence } = world();
    const a = fence('gw-a');
    await a.acquire(group, liveness);
    const current = store.peek(lease)!;
    await store.replace(lease, { ...current }, current.resourceVersion);
    await a.release(group);
    expect(store.peek(lease)?.holderIdentity).toBeNull();
  });

  it('hands back a renew that lands after the role was given up', async () => {
    const { state, liveness, store, fence } = world();
    const a = fence('gw-a');
    await a.acquire(group, liveness);
    store.latencyMs = 20;
    state.now = 500;
    const renewing = a.renew(group);
    a.forget(group); // the renew deadline passed while the write was on its way
    expect(await renewing).toBe(false);
    expect(store.peek(lease)?.holderIdentity).toBeNull();
  });

  it('leaves a Lease alone that another node took meanwhile', async () => {
    const { liveness, store, fence } = world();
    const a = fence('gw-a');
    await a.acquire(group, liveness);
    const current = store.peek(lease)!;
    await store.replace(lease, { ...current, holderIdentity: 'gw-b/1' }, current.resourceVersion);
    await a.release(group);
    expect(store.peek(lease)?.holderIdentity).toBe('gw-b/1');
  });
});
