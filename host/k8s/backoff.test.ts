import { describe, expect, it } from 'vitest';
import { Backoff, sleep } from './backoff.ts';

describe('Backoff', () => {
  it('doubles its ceiling up to the maximum, with full jitter', () => {
    const top = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0.999999 });
    expect([1, 2, 3, 4, 5, 6].map(() => top.next())).toEqual([100, 200, 400, 800, 1000, 1000]);
    top.reset();
    expect(top.next()).toBe(100);
    const bottom = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0 });
    expect(bottom.next()).toBe(0);
  });

  it('rejects nonsense bounds', () => {
    expect(() => new Backoff({ initialMs: 0, maxMs: 10 })).toThrow(RangeError);
    expect(() => new Backoff({ initialMs: 10, maxMs: 5 })).toThrow(RangeError);
  });
});

describe('sleep', () => {
  it('ends early when aborted', async () => {
    const ctl = new AbortController();
    const t0 = Date.now();
    const p = sleep(5_000, ctl.signal);
    ctl.abort();
    await p;
    expect(Date.now() - t0).toBeLessThan(1_000);
    await sleep(1_000, ctl.signal);
    expect(Date.now() - t0).toBeLessThan(1_000);
  });
});
