// The gateway benchmark: `npm run bench` (`-- --quick` for 2 s runs, `-- --help`).
//
// One namespace lab (1 gateway, 1 worker, 2 pods), the kernel path (nftables masquerade
// on gw1) and egressgw (a real agent on gw1, VirtualIPAddress mode) measured in the same
// run, reported as ratios against DESIGN.md's performance contract: progress lines while
// it runs, a table at the end, bench/results/latest.json and latest.svg.
//
// Order: the kernel path first, then egressgw, not interleaved. While the agent runs it
// owns gw1's routing, nftables and sysctls, and the kernel figures must come from a
// gateway with no agent on it; interleaving would mean stopping and starting the agent
// for every figure (seconds each, on a 2-core machine others share). The machine's load
// average is recorded at the start of each path so a disturbed run can be told apart.
//
// This is a benchmark, never a test: nothing here asserts timings. It refuses to report
// figures from a path that does not translate as expected (gateway-paths.ts) or whose
// traffic did not cross the gateway (gateway-measure.ts).

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildLab, type Lab } from '../lab/index.ts';
import { measureFailovers } from './failover.ts';
import { type MeasureOptions, measurePath, type PathFigures } from './gateway-measure.ts';
import {
  BenchUsageError,
  type GatewayBenchOptions,
  gatewayBenchUsage,
  parseGatewayBenchArgs,
} from './gateway-options.ts';
import {
  benchTopology,
  leaveKernelPath,
  type RunningAgent,
  useEgressgw,
  useKernelPath,
  writeBenchConfig,
} from './gateway-paths.ts';
import { gatewaySvg, gatewayTable } from './gateway-report.ts';
import {
  type GatewayBenchResults,
  gatewayTargets,
  ratio,
  rttRow,
  rttSpreadUs,
  throughputRow,
} from './gateway-results.ts';

const started = Date.now();

function progress(line: string): void {
  const seconds = ((Date.now() - started) / 1000).toFixed(1).padStart(5);
  console.log(`${seconds} s  ${line}`);
}

function results(
  options: GatewayBenchOptions,
  kernel: PathFigures,
  egressgw: PathFigures,
): GatewayBenchResults {
  const tcp = (figures: PathFigures, key: 'tcp1' | 'tcp4') => ({
    bitsPerSecond: figures[key].result.receivedBitsPerSecond,
    retransmits: figures[key].result.retransmits,
  });
  const kernelUdp = kernel.udp64.result;
  const egressgwUdp = egressgw.udp64.result;
  const detail = (figures: PathFigures) => ({
    loadavg: figures.loadavg,
    udp_lost_packets: figures.udp64.result.lostPackets,
    udp_receiver_buffer_drops: figures.udp64.receiverBufferDrops,
    rtt_spread_us: rttSpreadUs(figures.ping.result.rttsMs),
    rtt_dense_spread_us: rttSpreadUs(figures.pingDense.result.rttsMs),
    cpu: { tcp1: figures.tcp1.cpu, tcp4: figures.tcp4.cpu, udp64: figures.udp64.cpu },
    devices: {
      tcp1: figures.tcp1.devices,
      tcp4: figures.tcp4.devices,
      udp64: figures.udp64.devices,
      ping: figures.ping.devices,
      ping_dense: figures.pingDense.devices,
    },
    counters: {
      tcp1: figures.tcp1.counters,
      tcp4: figures.tcp4.counters,
      udp64: figures.udp64.counters,
      ping: figures.ping.counters,
      ping_dense: figures.pingDense.counters,
    },
  });
  return {
    tcp1: throughputRow(tcp(kernel, 'tcp1'), tcp(egressgw, 'tcp1')),
    tcp4: throughputRow(tcp(kernel, 'tcp4'), tcp(egressgw, 'tcp4')),
    udp64: {
      kernel_pps: kernelUdp.receivedPacketsPerSecond,
      egressgw_pps: egressgwUdp.receivedPacketsPerSecond,
      ratio: ratio(egressgwUdp.receivedPacketsPerSecond, kernelUdp.receivedPacketsPerSecond),
      kernel_sent_pps: kernelUdp.sentPacketsPerSecond,
      egressgw_sent_pps: egressgwUdp.sentPacketsPerSecond,
      tun_tx_dropped: egressgw.udp64.devices[benchTopology.tun]?.tx_dropped ?? 0,
      egressgw_lost: egressgwUdp.lostPackets,
      egressgw_receiver_buffer_drops: egressgw.udp64.receiverBufferDrops,
    },
    rtt_us: rttRow(kernel.ping.result.rttsMs, egressgw.ping.result.rttsMs, options.pings),
    rtt_us_dense: rttRow(
      kernel.pingDense.result.rttsMs,
      egressgw.pingDense.result.rttsMs,
      options.pings,
    ),
    quick: options.quick,
    date: new Date().toISOString(),
    node: process.version,
    seconds_per_run: options.seconds,
    order: 'kernel path first, then egressgw (the agent must not run during the kernel runs)',
    targets: gatewayTargets,
    detail: {
      topology: '1 gateway, 1 worker, 2 pods; pod worker1-pod1 to 203.0.113.10 via gw1',
      pings_interval_ms: options.pingIntervalMs,
      kernel: detail(kernel),
      egressgw: detail(egressgw),
    },
  };
}

async function measureBoth(lab: Lab, options: GatewayBenchOptions): Promise<GatewayBenchResults> {
  const measure: MeasureOptions = {
    seconds: options.seconds,
    pings: options.pings,
    pingIntervalMs: options.pingIntervalMs,
  };
  progress('kernel path: nftables masquerade on gw1, no agent running');
  const kernelSource = await useKernelPath(lab);
  progress(`kernel path translates: the outside sees ${kernelSource} (tcp, udp, icmp)`);
  const kernel = await measurePath(
    lab,
    { label: 'kernel', devices: [benchTopology.uplink], pids: {} },
    measure,
    progress,
  );
  await leaveKernelPath(lab);

  progress('egressgw: starting the agent on gw1 (VirtualIPAddress mode)');
  const work = mkdtempSync(join(tmpdir(), 'egw-bench-'));
  let agent: RunningAgent | undefined;
  try {
    writeBenchConfig(join(work, 'config.yaml'));
    agent = await useEgressgw(lab, join(work, 'config.yaml'), work);
    progress(`egressgw translates: the outside sees ${benchTopology.vip} (tcp, udp, icmp)`);
    const egressgw = await measurePath(
      lab,
      {
        label: 'egressgw',
        devices: [benchTopology.tun, benchTopology.uplink],
        pids: { agent: agent.process.pid },
        metrics: agent.metrics,
      },
      measure,
      progress,
    );
    return results(options, kernel, egressgw);
  } finally {
    await agent?.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

async function main(): Promise<number> {
  let options: GatewayBenchOptions;
  try {
    options = parseGatewayBenchArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof BenchUsageError)) throw error;
    console.error(`${error.message}\n\n${gatewayBenchUsage}`);
    return 2;
  }
  if (options.help) {
    console.log(gatewayBenchUsage);
    return 0;
  }
  if (process.getuid?.() !== 0) {
    console.error('the gateway benchmark builds network namespaces: run it as root');
    return 1;
  }
  progress(
    `building the lab (1 gateway, 1 worker, 2 pods); ${options.seconds} s per iperf3 run, ${options.pings} pings per path`,
  );
  const lab = await buildLab({ gateways: 1, workers: 1, podsPerWorker: 2 });
  let measured: GatewayBenchResults;
  try {
    progress(`lab ${lab.prefix} built`);
    measured = await measureBoth(lab, options);
  } finally {
    await lab.teardown();
  }
  const kills = options.quick ? 3 : 5;
  progress(
    `failover: 3 gateway nodes and a steering worker, VIP and primary-IP mode, the active agent killed ${kills} times each`,
  );
  measured.failover_ms = await measureFailovers(kills, progress);
  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'latest.json'), `${JSON.stringify(measured, null, 2)}\n`);
  writeFileSync(join(dir, 'latest.svg'), gatewaySvg(measured));
  console.log(`\n${gatewayTable(measured)}`);
  for (const mode of ['vip', 'primary'] as const) {
    const figures = measured.failover_ms[mode];
    console.log(
      `failover (${mode}, SIGKILL to traffic through the new node): median ${figures.median} ms, ` +
        `min ${figures.min}, max ${figures.max} over ${figures.runs.length} kills (target <= 1000 ms)`,
    );
  }
  console.log(`wrote ${join(dir, 'latest.json')} and latest.svg in ${progressSeconds()} s`);
  return 0;
}

function progressSeconds(): string {
  return ((Date.now() - started) / 1000).toFixed(1);
}

try {
  process.exitCode = await main();
} catch (error) {
  const code = (error as { code?: unknown }).code;
  console.error(`gateway benchmark failed${typeof code === 'string' ? ` (${code})` : ''}:`);
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
}
