import type { FailoverResults } from './failover.ts';
/**
 * What `npm run bench` (bench/gateway.bench.ts) measures and writes to
 * bench/results/latest.json: the kernel path and egressgw on the same lab in the same
 * run, as ratios against the performance contract (DESIGN.md).
 *
 * Invariants: every ratio is egressgw / kernel of the two figures beside it (0 when the
 * kernel figure is 0); added_p50 = egressgw_p50 - kernel_p50; all figures are finite.
 */

/** The performance contract's targets (DESIGN.md, "Performance contract"). */
export const gatewayTargets = {
  /** Bulk TCP, 1 and 4 streams: egressgw >= 0.6 x kernel (the C TUN ceiling is ~0.7). */
  tcpRatio: 0.6,
  /** Small UDP packets per second: egressgw >= 0.5 x kernel. */
  udpRatio: 0.5,
  /** Round trip added over the kernel path, median: <= 40 us. */
  addedRttP50Us: 40,
} as const;

export interface ThroughputRow {
  kernel_gbps: number;
  egressgw_gbps: number;
  ratio: number;
  kernel_retransmits: number;
  egressgw_retransmits: number;
}

export interface UdpRow {
  /** Packets per second the receiver got (sent minus lost). */
  kernel_pps: number;
  egressgw_pps: number;
  ratio: number;
  /** What the sender managed; with -b 0 the sender is the bound on the kernel path. */
  kernel_sent_pps: number;
  egressgw_sent_pps: number;
  /** Packets the TUN's transmit queue dropped during the egressgw UDP run. */
  tun_tx_dropped: number;
  /** egressgw's lost datagrams, and how many of them the receiver's full socket refused. */
  egressgw_lost: number;
  egressgw_receiver_buffer_drops: number;
}

export interface RttRow {
  kernel_p50: number;
  egressgw_p50: number;
  added_p50: number;
  kernel_p99: number;
  egressgw_p99: number;
  /** Echo requests per path, and how many came back. */
  pings: number;
  kernel_received: number;
  egressgw_received: number;
}

export interface GatewayBenchResults {
  tcp1: ThroughputRow;
  tcp4: ThroughputRow;
  udp64: UdpRow;
  /** Round trips in microseconds, pings 10 ms apart (the contract's figure). */
  rtt_us: RttRow;
  /**
   * The same with pings 1 ms apart: the CPUs seldom fall idle between them, so this
   * shows the path's own cost without most of the wake-up latency that widely spaced
   * packets pay (on this VM an idle CPU takes tens of microseconds to wake).
   */
  rtt_us_dense: RttRow;
  quick: boolean;
  date: string;
  node: string;
  seconds_per_run: number;
  /** How the two paths were scheduled, in words. */
  order: string;
  targets: typeof gatewayTargets;
  /** Diagnostics: counters and CPU shares, free-form per path. */
  detail: Record<string, unknown>;
  /** From SIGKILL of the active agent to traffic through the new node (failover.ts). */
  failover_ms?: FailoverResults;
}

/** egressgw / kernel; 0 when there is no kernel figure to compare with. */
export function ratio(egressgw: number, kernel: number): number {
  return kernel > 0 ? egressgw / kernel : 0;
}

/**
 * Nearest-rank percentile (p in 0..100) of samples; undefined for none. Nearest rank
 * reports a value that was measured, never an interpolation between two.
 */
export function percentile(samples: readonly number[], p: number): number | undefined {
  if (samples.length === 0) return undefined;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1];
}

/** A row from the two paths' TCP results, in bits per second. */
export function throughputRow(
  kernel: { bitsPerSecond: number; retransmits: number },
  egressgw: { bitsPerSecond: number; retransmits: number },
): ThroughputRow {
  return {
    kernel_gbps: kernel.bitsPerSecond / 1e9,
    egressgw_gbps: egressgw.bitsPerSecond / 1e9,
    ratio: ratio(egressgw.bitsPerSecond, kernel.bitsPerSecond),
    kernel_retransmits: kernel.retransmits,
    egressgw_retransmits: egressgw.retransmits,
  };
}

/** The RTT row from each path's ping round trips in milliseconds (ping's unit). */
export function rttRow(
  kernelMs: readonly number[],
  egressgwMs: readonly number[],
  pings: number,
): RttRow {
  const us = (samples: readonly number[], p: number): number => {
    const value = percentile(samples, p);
    if (value === undefined) throw new RangeError('no ping replies to take a percentile of');
    return Math.round(value * 1000 * 10) / 10;
  };
  const kernel_p50 = us(kernelMs, 50);
  const egressgw_p50 = us(egressgwMs, 50);
  return {
    kernel_p50,
    egressgw_p50,
    added_p50: Math.round((egressgw_p50 - kernel_p50) * 10) / 10,
    kernel_p99: us(kernelMs, 99),
    egressgw_p99: us(egressgwMs, 99),
    pings,
    kernel_received: kernelMs.length,
    egressgw_received: egressgwMs.length,
  };
}

/** Which targets a result meets, row by row. */
export function targetsMet(results: GatewayBenchResults): {
  tcp1: boolean;
  tcp4: boolean;
  udp64: boolean;
  rtt: boolean;
} {
  return {
    tcp1: results.tcp1.ratio >= gatewayTargets.tcpRatio,
    tcp4: results.tcp4.ratio >= gatewayTargets.tcpRatio,
    udp64: results.udp64.ratio >= gatewayTargets.udpRatio,
    rtt: results.rtt_us.added_p50 <= gatewayTargets.addedRttP50Us,
  };
}

/** How a path's round trips (ping's milliseconds) spread, in microseconds: for detail. */
export function rttSpreadUs(samplesMs: readonly number[]): {
  min: number;
  p90: number;
  max: number;
  over_1ms: number;
} {
  const us = (ms: number | undefined) => Math.round((ms ?? 0) * 1000 * 10) / 10;
  return {
    min: us(percentile(samplesMs, 0)),
    p90: us(percentile(samplesMs, 90)),
    max: us(percentile(samplesMs, 100)),
    over_1ms: samplesMs.filter((ms) => ms > 1).length,
  };
}
