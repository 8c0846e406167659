/**
 * The two paths the gateway benchmark compares, on the same lab (1 gateway, 1 worker,
 * 2 pods): the kernel path (nftables masquerade on gw1, lab/kernel-baseline.ts) and
 * egressgw (a real agent on gw1 in VirtualIPAddress mode, steered the way the end-to-end
 * fixture does it). Each path is checked before anything is measured on it: the outside
 * server must see the expected source for TCP, UDP and ICMP, so a misconfigured run
 * cannot produce numbers.
 */

import { OUTSIDE, spawnAgent, steerWorker, VIP, writeConfig } from '../lab/egressgw-agents.ts';
import type { Lab, LabProcess } from '../lab/index.ts';
import { type LinkStats, parseLinkStats } from './link-stats.ts';
import { parsePrometheusText } from './prometheus-text.ts';

export type BenchErrorCode =
  /** The outside server saw another source than the path under test should give. */
  | 'EGW_BENCH_NOT_TRANSLATED'
  /** Something runs on the gateway that the path under test must not have. */
  | 'EGW_BENCH_WRONG_PATH'
  /** The agent did not start, or stopped. */
  | 'EGW_BENCH_AGENT'
  /** A measurement's traffic did not cross the interfaces it should have. */
  | 'EGW_BENCH_TRAFFIC_ELSEWHERE'
  /** More than a tenth of the measured pings got no reply: no round trip to report. */
  | 'EGW_BENCH_PING_LOST';

export class BenchError extends Error {
  readonly code: BenchErrorCode;

  constructor(code: BenchErrorCode, message: string) {
    super(message);
    this.name = 'BenchError';
    this.code = code;
  }
}

export const benchTopology = {
  gateway: 'gw1',
  gatewayNodeIp: '192.168.77.11',
  worker: 'worker1',
  /** The measured pod; the policy selects it (app=backend). */
  pod: 'worker1-pod1',
  podIp: '10.244.1.11',
  outside: OUTSIDE,
  vip: VIP,
  uplink: 'eth1',
  tun: 'egw0',
  /** The agent's /metrics inside the gateway's namespace (loopback only). */
  metricsPort: 9471,
} as const;

/** Counters of one interface of the gateway. */
export async function gatewayLink(lab: Lab, device: string): Promise<LinkStats> {
  const result = await lab.run(benchTopology.gateway, ['ip', '-s', '-j', 'link', 'show', device]);
  return parseLinkStats(result.stdout);
}

/** Process ids in a lab node's namespace. */
export async function namespacePids(lab: Lab, name: string): Promise<number[]> {
  const result = await lab.run('fabric', ['ip', 'netns', 'pids', lab.netns(name)]);
  return result.stdout
    .split(/\s+/)
    .filter((word) => /^[1-9]\d*$/.test(word))
    .map(Number);
}

/**
 * The outside server must see `expected` as the pod's source for a new TCP flow, a new
 * UDP flow and ICMP echo; anything else is EGW_BENCH_NOT_TRANSLATED.
 */
export async function checkTranslation(lab: Lab, expected: string): Promise<void> {
  const { pod, outside } = benchTopology;
  for (const transport of ['tcp', 'udp'] as const) {
    const seen = await lab.askSource(pod, transport);
    if (seen.ip !== expected) {
      throw new BenchError(
        'EGW_BENCH_NOT_TRANSLATED',
        `${transport} from ${pod} reached the outside as ${seen.ip}, expected ${expected}`,
      );
    }
  }
  await lab.outsideIcmpSources({ clear: true });
  const ping = await lab.ping(pod, outside, { count: 3 });
  const sources = await lab.outsideIcmpSources();
  if (ping.received === 0 || sources.length !== 1 || sources[0] !== expected) {
    throw new BenchError(
      'EGW_BENCH_NOT_TRANSLATED',
      `ping from ${pod}: ${ping.received}/3 replies, outside saw ${sources.join(', ') || 'nothing'}, expected ${expected}`,
    );
  }
}

/**
 * Makes gw1 the kernel path and checks it. Refuses when anything runs in the gateway's
 * namespace or a TUN is there: the kernel figures must not include egressgw.
 * Returns the source address the outside sees.
 */
export async function useKernelPath(lab: Lab): Promise<string> {
  const { gateway, tun } = benchTopology;
  const pids = await namespacePids(lab, gateway);
  const tunThere = await lab.run(gateway, ['ip', 'link', 'show', tun], { allowFailure: true });
  if (pids.length > 0 || tunThere.exitCode === 0) {
    throw new BenchError(
      'EGW_BENCH_WRONG_PATH',
      `kernel path wanted, but ${gateway} runs pids [${pids.join(', ')}]${tunThere.exitCode === 0 ? ` and has ${tun}` : ''}`,
    );
  }
  const plan = await lab.enableKernelBaseline({ gateway, snat: { mode: 'masquerade' } });
  await checkTranslation(lab, plan.sourceIp);
  return plan.sourceIp;
}

export async function leaveKernelPath(lab: Lab): Promise<void> {
  await lab.disableKernelBaseline();
  const table = await lab.run(
    benchTopology.gateway,
    ['nft', 'list', 'table', 'ip', 'egwlab_baseline'],
    { allowFailure: true },
  );
  if (table.exitCode === 0) {
    throw new BenchError('EGW_BENCH_WRONG_PATH', 'the kernel baseline table is still on gw1');
  }
}

/** The agent's configuration: one VIP gateway on gw1, a policy selecting the pod. */
export function writeBenchConfig(path: string): void {
  const { gateway, gatewayNodeIp, podIp, worker } = benchTopology;
  writeConfig(path, {
    gateways: [
      { name: 'egress-gw', mode: 'vip', nodeSelector: { 'node-role.deckhouse.io/egress': '' } },
    ],
    policies: [
      { name: 'backend', gateway: 'egress-gw', app: 'backend', destinations: ['0.0.0.0/0'] },
    ],
    nodes: [
      { name: gateway, address: gatewayNodeIp, labels: { 'node-role.deckhouse.io/egress': '' } },
    ],
    pods: [
      { name: 'backend-1', ip: podIp, node: worker, app: 'backend' },
      { name: 'other-1', ip: '10.244.1.12', node: worker, app: 'other' },
    ],
  });
}

export interface RunningAgent {
  process: LabProcess;
  /** The agent's /metrics samples now. */
  metrics(): Promise<Map<string, number>>;
  /** SIGTERM, and wait until it has given its routing back. */
  stop(): Promise<void>;
}

/**
 * Starts the agent on gw1 and steers the worker to it, then waits until a probe gets the
 * VIP and checks all three transports. /metrics is served (on the namespace's loopback),
 * because the benchmark reads the core's counters.
 */
export async function useEgressgw(
  lab: Lab,
  configPath: string,
  stateDir: string,
): Promise<RunningAgent> {
  const { gateway, gatewayNodeIp, worker, pod, vip, metricsPort } = benchTopology;
  const agentProcess = spawnAgent(lab, gateway, configPath, stateDir, [
    '--metrics-port',
    String(metricsPort),
  ]);
  const agent: RunningAgent = {
    process: agentProcess,
    metrics: async () => {
      const result = await lab.run(gateway, [
        'curl',
        '-sf',
        '--max-time',
        '3',
        `http://127.0.0.1:${metricsPort}/metrics`,
      ]);
      return parsePrometheusText(result.stdout);
    },
    stop: async () => {
      // SIGTERM lets it give back routing and kernel settings; SIGKILL if it hangs.
      let timer: NodeJS.Timeout | undefined;
      const hung = new Promise<'hung'>((resolve) => {
        timer = setTimeout(() => resolve('hung'), 10_000);
      });
      const ended = await Promise.race([agentProcess.kill('SIGTERM'), hung]);
      clearTimeout(timer);
      if (ended === 'hung') await agentProcess.kill('SIGKILL');
    },
  };
  try {
    await agentProcess.waitForLine(/"agent running"/, 20_000);
  } catch (error) {
    await agent.stop();
    throw new BenchError(
      'EGW_BENCH_AGENT',
      `the agent did not start: ${(error as Error).message}\n${agentProcess.output().slice(-2000)}`,
    );
  }
  await steerWorker(lab, worker, gatewayNodeIp);
  // The agent takes the VIP and programs its routes after it says it runs.
  const deadline = Date.now() + 10_000;
  let last = 'no answer';
  for (;;) {
    const seen = await lab.askSource(pod, 'tcp', 500).catch((error: Error) => error);
    if (!(seen instanceof Error) && seen.ip === vip) break;
    last = seen instanceof Error ? seen.message : `source ${seen.ip}`;
    if (!agentProcess.running || Date.now() > deadline) {
      await agent.stop();
      throw new BenchError(
        'EGW_BENCH_AGENT',
        `no TCP probe got the VIP ${vip} within 10 s (last: ${last})\n${agentProcess.output().slice(-2000)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await checkTranslation(lab, vip);
  return agent;
}
