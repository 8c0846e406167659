import { MessageChannel } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { CONTROL_SLOTS, CONTROL_STOP, createStopCheck } from './run.ts';

function control(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(CONTROL_SLOTS * 4));
}

describe('createStopCheck', () => {
  it('stops on the shared flag', () => {
    const flags = control();
    const shouldStop = createStopCheck(flags, null);
    expect(shouldStop()).toBe(false);
    Atomics.store(flags, CONTROL_STOP, 1);
    expect(shouldStop()).toBe(true);
  });

  it('stops on a stop message and ignores other messages', () => {
    const { port1, port2 } = new MessageChannel();
    try {
      const shouldStop = createStopCheck(control(), port2);
      port1.postMessage({ type: 'counters' });
      expect(shouldStop()).toBe(false);
      port1.postMessage({ type: 'stop' });
      expect(shouldStop()).toBe(true);
      expect(shouldStop()).toBe(true);
    } finally {
      port1.close();
      port2.close();
    }
  });
});
