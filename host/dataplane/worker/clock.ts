/**
 * The dataplane's clock: CLOCK_MONOTONIC in milliseconds modulo 2^32, as the core wants
 * it (assembly/README.md, "nowMs"). process.hrtime is process-wide, so the main thread
 * (sweeps, flow export) and every worker read the same clock; performance.now() would
 * not do, since each thread counts from its own start.
 */
export function monotonicMs(): number {
  const [seconds, nanoseconds] = process.hrtime();
  return (seconds * 1000 + Math.floor(nanoseconds / 1_000_000)) >>> 0;
}
