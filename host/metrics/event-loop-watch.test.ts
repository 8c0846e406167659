import { afterEach, describe, expect, it } from 'vitest';
import { EventLoopWatch, eventLoopCheck } from './event-loop-watch.ts';

function block(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // Busy: the point is to hold the event loop.
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('event loop watch', () => {
  let watch: EventLoopWatch | undefined;
  afterEach(() => watch?.stop());

  it('is not stalled while the loop runs freely', async () => {
    // A generous threshold: the test machine's two cores are shared.
    watch = new EventLoopWatch({ intervalMs: 10, stallThresholdMs: 1_000 });
    watch.start();
    await sleep(60);
    const check = eventLoopCheck(watch)();
    expect(check.ok).toBe(true);
    expect(check.details['sinceLastTickMs']).toBeLessThan(1_000);
  });

  it('reports a stall right after a block, and recovers after the next tick', async () => {
    watch = new EventLoopWatch({ intervalMs: 10, stallThresholdMs: 100 });
    watch.start();
    await sleep(30);
    block(250);
    // Before the timers phase runs: the missing tick shows the stall.
    expect(watch.state().stalled).toBe(true);
    await sleep(0);
    // After the late tick: its lag shows the stall until the following tick.
    const state = watch.state();
    expect(state.stalled).toBe(true);
    expect(state.maxLagMs).toBeGreaterThanOrEqual(140);
    await sleep(80);
    const after = eventLoopCheck(watch)();
    expect(after.ok).toBe(true);
    expect(after.details['maxLagMs']).toBeGreaterThanOrEqual(140);
  });

  it('is not stalled when never started', () => {
    watch = new EventLoopWatch({ intervalMs: 10, stallThresholdMs: 1 });
    expect(watch.state().stalled).toBe(false);
  });
});
