/**
 * One path's figures on the benchmark lab: iperf3 TCP with 1 and 4 streams, iperf3 UDP
 * with 64-byte payloads at full speed (-b 0) and ping round trips, the same for the kernel
 * path and egressgw. Around every run the gateway's interface counters (and, for
 * egressgw, the core's counters) are read, and the run is refused when its traffic did not
 * cross the interfaces the path sends it through: the uplink for both, the TUN as well for
 * egressgw.
 */

import { cpus, loadavg } from 'node:os';
import type { IperfTcpResult, IperfUdpResult, Lab, PingResult } from '../lab/index.ts';
import { BenchError, benchTopology, gatewayLink, namespacePids } from './gateway-paths.ts';
import { formatGbps, formatKpps, formatUs } from './gateway-report.ts';
import { percentile } from './gateway-results.ts';
import { type LinkStats, linkDelta } from './link-stats.ts';
import { type CpuShares, cpuShares, takeSample } from './proc-cpu.ts';
import { changedSeries } from './prometheus-text.ts';

export interface PathSetup {
  label: 'kernel' | 'egressgw';
  /** Gateway interfaces the measured traffic must leave by (the kernel's tx counts). */
  devices: readonly string[];
  /** Processes whose CPU to watch during iperf3 runs, beside iperf3's client and server. */
  pids: Record<string, number>;
  /** The agent's /metrics, for the core's counters. */
  metrics?: () => Promise<Map<string, number>>;
}

export interface Measured<T> {
  result: T;
  /** Counter changes over the run, per gateway interface. */
  devices: Record<string, LinkStats>;
  /** The agent's egressgw_* series that changed over the run. */
  counters?: Record<string, number>;
}

export interface PathFigures {
  tcp1: Measured<IperfTcpResult> & { cpu: CpuShares };
  tcp4: Measured<IperfTcpResult> & { cpu: CpuShares };
  udp64: Measured<IperfUdpResult> & {
    cpu: CpuShares;
    /** Datagrams the receiver's socket refused for a full buffer (UdpRcvbufErrors). */
    receiverBufferDrops: number;
  };
  /** Pings `pingIntervalMs` apart (the contract's figure), then 1 ms apart. */
  ping: Measured<PingResult>;
  pingDense: Measured<PingResult>;
  /** The machine's 1, 5 and 15 minute load when the path's runs began (it is shared). */
  loadavg: number[];
}

export interface MeasureOptions {
  seconds: number;
  pings: number;
  pingIntervalMs: number;
}

const UDP_PAYLOAD_BYTES = 64;
/** ICMP echo payload (ping's default 56) plus the ICMP header. */
const PING_BYTES = 64;
/**
 * Spacing of the second ping run: close enough that the CPUs seldom go idle between
 * packets, which separates the path's cost from wake-up latency.
 */
const DENSE_PING_MS = 1;
/** Share of the payload an interface must at least have carried; headers make it more. */
const CARRIED_SHARE = 0.9;

type Log = (line: string) => void;

/**
 * Refuses a run whose receiver got more payload than a gateway interface it must cross
 * sent (less 10 % for slack): its traffic took another path, so its figure is not the
 * path's.
 */
export function checkCarried(
  run: string,
  devices: Record<string, LinkStats>,
  payloadBytes: number,
): void {
  for (const [device, delta] of Object.entries(devices)) {
    if (delta.tx_bytes < CARRIED_SHARE * payloadBytes) {
      throw new BenchError(
        'EGW_BENCH_TRAFFIC_ELSEWHERE',
        `${run}: ${benchTopology.gateway} ${device} sent ${delta.tx_bytes} bytes, the receiver got ${Math.round(payloadBytes)}: the traffic took another path`,
      );
    }
  }
}

async function observe<T>(
  lab: Lab,
  setup: PathSetup,
  what: string,
  body: () => Promise<T>,
  payloadBytes: (result: T) => number,
): Promise<Measured<T>> {
  const readDevices = () => Promise.all(setup.devices.map((device) => gatewayLink(lab, device)));
  const [devicesBefore, metricsBefore] = await Promise.all([readDevices(), setup.metrics?.()]);
  const result = await body();
  const [devicesAfter, metricsAfter] = await Promise.all([readDevices(), setup.metrics?.()]);
  const devices: Record<string, LinkStats> = {};
  setup.devices.forEach((device, index) => {
    devices[device] = linkDelta(devicesBefore[index]!, devicesAfter[index]!);
  });
  checkCarried(`${setup.label} ${what}`, devices, payloadBytes(result));
  const measured: Measured<T> = { result, devices };
  if (metricsBefore !== undefined && metricsAfter !== undefined) {
    measured.counters = changedSeries(metricsBefore, metricsAfter, 'egressgw_');
  }
  return measured;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * CPU shares inside an iperf3 run that has just started: from 400 ms in (iperf3's client
 * is up) to shortly before it ends (its threads can still be read).
 */
async function sampleCpuDuring(lab: Lab, setup: PathSetup, seconds: number): Promise<CpuShares> {
  await sleep(400);
  const clientPids = await namespacePids(lab, benchTopology.pod);
  const pids: Record<string, number> = { ...setup.pids };
  clientPids.forEach((pid, index) => {
    pids[index === 0 ? 'iperf3-client' : `iperf3-client-${index}`] = pid;
  });
  if (lab.iperfServer !== undefined) pids['iperf3-server'] = lab.iperfServer.pid;
  const before = takeSample(pids);
  await sleep(Math.max(200, seconds * 1000 - 800));
  return cpuShares(before, takeSample(pids), cpus().length);
}

function describeCpu(cpu: CpuShares): string {
  const shares = Object.entries(cpu.processes)
    .map(([label, share]) => `${label} ${share.percent} % (${share.system_percent} in kernel)`)
    .join(', ');
  return `CPU (% of one core): ${shares}; machine softirq ${cpu.machine.softirq} %, idle ${cpu.machine.idle} % (of all cores)`;
}

async function tcp(
  lab: Lab,
  setup: PathSetup,
  options: MeasureOptions,
  streams: number,
  log: Log,
): Promise<Measured<IperfTcpResult> & { cpu: CpuShares }> {
  log(`TCP, ${streams} stream${streams > 1 ? 's' : ''}, ${options.seconds} s ...`);
  let cpu: CpuShares | undefined;
  const measured = await observe(
    lab,
    setup,
    `TCP -P ${streams}`,
    async () => {
      const [result, shares] = await Promise.all([
        lab.iperfTcp(benchTopology.pod, { seconds: options.seconds, streams }),
        sampleCpuDuring(lab, setup, options.seconds),
      ]);
      cpu = shares;
      return result;
    },
    (result) => (result.receivedBitsPerSecond * result.seconds) / 8,
  );
  const { receivedBitsPerSecond, retransmits } = measured.result;
  log(`  ${formatGbps(receivedBitsPerSecond / 1e9)} Gbit/s received, ${retransmits} retransmits`);
  log(`  ${describeCpu(cpu!)}`);
  return { ...measured, cpu: cpu! };
}

/**
 * UDP flood at full speed: the sender is the bound on the kernel path (DESIGN.md), so
 * the receiver's rate is the figure and the TUN's tx_dropped says what egressgw lost.
 */
async function udp(
  lab: Lab,
  setup: PathSetup,
  options: MeasureOptions,
  log: Log,
): Promise<PathFigures['udp64']> {
  log(`UDP, ${UDP_PAYLOAD_BYTES}-byte payloads, -b 0, ${options.seconds} s ...`);
  let cpu: CpuShares | undefined;
  // Lost datagrams are lost somewhere: at the TUN's queue (egressgw), or at the
  // receiver's socket when they arrive faster or burstier than iperf3 reads them.
  const receiverBefore = await lab.kernelCounters('outside');
  const measured = await observe(
    lab,
    setup,
    'UDP',
    async () => {
      const [result, shares] = await Promise.all([
        lab.iperfUdp(benchTopology.pod, {
          seconds: options.seconds,
          lengthBytes: UDP_PAYLOAD_BYTES,
          bitsPerSecond: 0,
        }),
        sampleCpuDuring(lab, setup, options.seconds),
      ]);
      cpu = shares;
      return result;
    },
    (result) => (result.sentPackets - result.lostPackets) * UDP_PAYLOAD_BYTES,
  );
  const receiverAfter = await lab.kernelCounters('outside');
  const receiverBufferDrops =
    (receiverAfter['UdpRcvbufErrors'] ?? 0) - (receiverBefore['UdpRcvbufErrors'] ?? 0);
  const { receivedPacketsPerSecond, sentPacketsPerSecond, lostPackets } = measured.result;
  log(
    `  ${formatKpps(receivedPacketsPerSecond)} k pps received, ${formatKpps(sentPacketsPerSecond)} k pps sent, ${lostPackets} lost, ${receiverBufferDrops} of them at the receiver's full socket buffer`,
  );
  const tun = measured.devices[benchTopology.tun];
  if (tun !== undefined) {
    log(`  ${benchTopology.tun} tx_dropped ${tun.tx_dropped} (txqlen ${tun.txqlen})`);
  }
  log(`  ${describeCpu(cpu!)}`);
  return { ...measured, cpu: cpu!, receiverBufferDrops };
}

async function ping(
  lab: Lab,
  setup: PathSetup,
  options: MeasureOptions,
  log: Log,
): Promise<Measured<PingResult>> {
  log(`ping, ${options.pings} echo requests ${options.pingIntervalMs} ms apart ...`);
  const { pings, pingIntervalMs } = options;
  const measured = await observe(
    lab,
    setup,
    'ping',
    () =>
      lab.ping(benchTopology.pod, benchTopology.outside, {
        count: pings,
        intervalMs: pingIntervalMs,
      }),
    (result) => result.received * PING_BYTES,
  );
  const { received, transmitted, rttsMs } = measured.result;
  if (received < CARRIED_SHARE * pings) {
    throw new BenchError(
      'EGW_BENCH_PING_LOST',
      `${setup.label} ping: ${received} of ${transmitted} replies`,
    );
  }
  const us = (p: number) => formatUs((percentile(rttsMs, p) ?? 0) * 1000);
  log(`  median ${us(50)} µs, p99 ${us(99)} µs, ${received}/${transmitted} replies`);
  return measured;
}

/** Measures one path, which must already be set up and checked. */
export async function measurePath(
  lab: Lab,
  setup: PathSetup,
  options: MeasureOptions,
  print: Log,
): Promise<PathFigures> {
  const log: Log = (line) => print(`[${setup.label}] ${line}`);
  const load = loadavg().map((value) => Math.round(value * 100) / 100);
  log(`machine load average ${load.join(' ')}`);
  // A short ping first, so no measured packet pays for ARP or a new flow.
  await lab.ping(benchTopology.pod, benchTopology.outside, { count: 3 });
  const tcp1 = await tcp(lab, setup, options, 1, log);
  const tcp4 = await tcp(lab, setup, options, 4, log);
  const udp64 = await udp(lab, setup, options, log);
  const pinged = await ping(lab, setup, options, log);
  const pingDense = await ping(lab, setup, { ...options, pingIntervalMs: DENSE_PING_MS }, log);
  return { tcp1, tcp4, udp64, ping: pinged, pingDense, loadavg: load };
}
