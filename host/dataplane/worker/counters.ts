/**
 * The worker loop's own counters (the core counts packets by verdict; these count what
 * the loop did around it). They live in a Float64Array over a SharedArrayBuffer: the
 * worker is the only writer and stores whole values after each batch, the main thread
 * reads whenever it likes. Float64 holds integers exactly up to 2^53, decades of packets.
 * Counters only grow; readers take differences.
 */
export const workerCounterNames = [
  'poll_calls',
  'poll_timeouts',
  'read_calls',
  'write_calls',
  'batches',
  'packets_read',
  'bytes_read',
  'packets_forwarded',
  'packets_not_forwarded',
  'packets_emitted',
  'packets_written',
  'bytes_written',
  'write_errors',
] as const;

export type WorkerCounterName = (typeof workerCounterNames)[number];

export const workerCounterIndex = Object.fromEntries(
  workerCounterNames.map((name, index) => [name, index]),
) as Record<WorkerCounterName, number>;

export function createWorkerCounters(): Float64Array {
  return new Float64Array(
    new SharedArrayBuffer(workerCounterNames.length * Float64Array.BYTES_PER_ELEMENT),
  );
}

export function readWorkerCounters(counters: Float64Array): Record<WorkerCounterName, number> {
  const out = {} as Record<WorkerCounterName, number>;
  for (const name of workerCounterNames) out[name] = counters[workerCounterIndex[name]]!;
  return out;
}
