import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Lab } from './lab.ts';
import { nodeScriptArgv } from './node-scripts.ts';
import { parseProbeReport } from './outside-protocol.ts';
import type { LabProcess } from './process.ts';

// Real egressgw agents in lab namespaces: their configuration, starting them, and
// measuring what they do. Used by the end-to-end suites, the benchmark and the demo.

const MAIN = fileURLToPath(new URL('../host/cli/main.ts', import.meta.url));
const PROBE = fileURLToPath(new URL('./traffic-probe.ts', import.meta.url));

export const CLUSTER_CIDRS = [
  '10.244.0.0/16',
  '10.96.0.0/12',
  '192.168.77.0/24',
  '192.168.78.0/24',
];
export const VIP = '172.18.18.242';
export const OUTSIDE = '203.0.113.10';

export interface GatewaySpec {
  name: string;
  mode: 'vip' | 'primary';
  nodeSelector: Record<string, string>;
  /** VIP mode: the address (default VIP). */
  vip?: string;
}

export interface LabConfig {
  gateways: GatewaySpec[];
  /** Deckhouse policies: name, gateway, pod label selector and namespace (default "default"), destinations. */
  policies: {
    name: string;
    gateway: string;
    app: string;
    namespace?: string;
    destinations: string[];
  }[];
  /** Gateway nodes: name, node-network address, labels. */
  nodes: {
    name: string;
    address: string;
    labels: Record<string, string>;
    ready?: boolean;
    unschedulable?: boolean;
    /** spec.podCIDR: turns on the agent's guard for pods it does not know yet. */
    podCIDR?: string;
  }[];
  /** Pods: name, ip, node, app label, namespace (default "default"). */
  pods: { name: string; ip: string; node: string; app: string; namespace?: string }[];
}

/** The YAML stream an agent in file mode reads: the seeds' objects plus Nodes and Pods. */
export function configYaml(config: LabConfig): string {
  const docs: string[] = [];
  for (const gateway of config.gateways) {
    const sourceIP =
      gateway.mode === 'vip'
        ? `    mode: VirtualIPAddress\n    virtualIPAddress:\n      ip: ${gateway.vip ?? VIP}`
        : '    mode: PrimaryIPFromEgressGatewayNodeInterface\n    primaryIPFromEgressGatewayNodeInterface:\n      interfaceName: eth1';
    docs.push(
      `apiVersion: network.deckhouse.io/v1alpha1\nkind: EgressGateway\nmetadata:\n  name: ${gateway.name}\nspec:\n  nodeSelector:\n${labelsYaml(gateway.nodeSelector, 4)}\n  sourceIP:\n${sourceIP}`,
    );
  }
  for (const policy of config.policies) {
    docs.push(
      `apiVersion: network.deckhouse.io/v1alpha1\nkind: EgressGatewayPolicy\nmetadata:\n  name: ${policy.name}\nspec:\n  destinationCIDRs: [${policy.destinations.join(', ')}]\n  egressGatewayName: ${policy.gateway}\n  selectors:\n    - podSelector:\n        matchLabels:\n          app: ${policy.app}\n          io.kubernetes.pod.namespace: ${policy.namespace ?? 'default'}`,
    );
  }
  for (const node of config.nodes) {
    docs.push(
      `apiVersion: v1\nkind: Node\nmetadata:\n  name: ${node.name}\n  labels:\n${labelsYaml(node.labels, 4)}\nspec:\n  unschedulable: ${node.unschedulable ?? false}${node.podCIDR ? `\n  podCIDR: ${node.podCIDR}` : ''}\nstatus:\n  conditions:\n    - type: Ready\n      status: "${node.ready === false ? 'False' : 'True'}"\n  addresses:\n    - type: InternalIP\n      address: ${node.address}`,
    );
  }
  for (const pod of config.pods) {
    docs.push(
      `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${pod.name}\n  namespace: ${pod.namespace ?? 'default'}\n  labels:\n    app: ${pod.app}\nspec:\n  nodeName: ${pod.node}\nstatus:\n  phase: Running\n  podIP: ${pod.ip}`,
    );
  }
  return `${docs.join('\n---\n')}\n`;
}

function labelsYaml(labels: Record<string, string>, indent: number): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return `${' '.repeat(indent)}{}`;
  return entries.map(([key, value]) => `${' '.repeat(indent)}${key}: "${value}"`).join('\n');
}

/** A directory for one suite's config and state, removed by dispose(). */
export function workDir(): { path: string; dispose(): void } {
  const path = mkdtempSync(join(tmpdir(), 'egw-e2e-'));
  return { path, dispose: () => rmSync(path, { recursive: true, force: true }) };
}

export function writeConfig(path: string, config: LabConfig): void {
  // Write then rename, so the agents never read half a file.
  writeFileSync(`${path}.tmp`, configYaml(config));
  renameSync(`${path}.tmp`, path);
}

/**
 * Starts an agent in a node's namespace (file mode unless `extraArgs` say otherwise;
 * later flags override earlier ones, e.g. `--metrics-port`), without waiting for it.
 */
export function spawnAgent(
  lab: Lab,
  node: string,
  /** The YAML file (file mode), or null when extraArgs choose Kubernetes mode. */
  configPath: string | null,
  stateDir: string,
  extraArgs: string[] = [],
): LabProcess {
  return lab.spawn(
    node,
    [
      'env',
      'EGRESSGW_HEARTBEAT_SECRET=lab-secret',
      process.execPath,
      MAIN,
      'agent',
      '--node-name',
      node,
      '--metrics-port',
      '0',
      ...(configPath === null ? [] : ['--config', configPath]),
      '--uplink',
      'eth1',
      '--state-dir',
      `${stateDir}/${node}`,
      '--max-flows',
      '65536',
      ...CLUSTER_CIDRS.flatMap((cidr) => ['--cluster-cidr', cidr]),
      ...extraArgs,
    ],
    'egressgw-agent',
  );
}

/** spawnAgent, then waits until it runs; a failure carries the agent's last output. */
export async function startAgent(
  lab: Lab,
  node: string,
  configPath: string | null,
  stateDir: string,
  extraArgs: string[] = [],
): Promise<LabProcess> {
  const agent = spawnAgent(lab, node, configPath, stateDir, extraArgs);
  try {
    await agent.waitForLine(/"agent running"/, 20_000);
  } catch (error) {
    await agent.kill();
    throw new Error(
      `the agent on ${node} did not start: ${(error as Error).message}\n${agent.output().slice(-2000)}`,
    );
  }
  return agent;
}

/** The route a steered worker takes to the outside network (table 178). */
function outsideRoute(nextHop: string, onlink: boolean): string {
  return `route replace 203.0.113.0/24 via ${nextHop} dev eth0${onlink ? ' onlink' : ''} table 178`;
}

/**
 * Routes a worker's pod traffic to the outside via `nextHop` (until steering on every
 * node exists): a gateway node's address, or with `onlink` the VIP itself, which the
 * active gateway answers ARP for on the node network (--announce-interface eth0).
 */
export async function steerWorker(
  lab: Lab,
  worker: string,
  nextHop: string,
  options: { onlink?: boolean } = {},
): Promise<void> {
  await lab.ip(worker, [
    outsideRoute(nextHop, options.onlink ?? false),
    'rule add to 203.0.113.0/24 lookup 178 pref 1000',
  ]);
}

/** Points an already steered worker at another next hop. */
export async function resteerWorker(lab: Lab, worker: string, nextHop: string): Promise<void> {
  await lab.ip(worker, [outsideRoute(nextHop, false)]);
}

/** Waits until the outside server sees `ip` as the source of `pod`'s UDP probes. */
export async function waitForSource(
  lab: Lab,
  pod: string,
  ip: string,
  timeoutMs: number,
): Promise<void> {
  await waitFor(
    () =>
      lab
        .askSource(pod, 'udp')
        .then((seen) => seen.ip === ip)
        .catch(() => false),
    timeoutMs,
    `the outside seeing ${ip} from ${pod}`,
  );
}

/** Runs traffic-probe.ts in a namespace and returns the JSON line it prints. */
export async function runTrafficProbe(lab: Lab, node: string, args: string[]): Promise<unknown> {
  const result = await lab.run(node, [process.execPath, PROBE, ...args], { timeoutMs: 20_000 });
  return JSON.parse(result.stdout.trim().split('\n').at(-1)!);
}

/** Starts traffic-probe.ts in a namespace in the background. */
export function spawnTrafficProbe(lab: Lab, node: string, args: string[]): LabProcess {
  return lab.spawn(node, [process.execPath, PROBE, ...args], 'traffic-probe');
}

/** Polls `check` until it holds; throws after `timeoutMs` naming `what`. */
export async function waitFor(
  check: () => Promise<boolean>,
  timeoutMs: number,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export interface Takeover {
  node: string;
  reason: string;
  at: string;
}

/** Every "took over a gateway" the agents logged for `group` (EgressGateway name), oldest first. */
export function takeovers(agents: ReadonlyMap<string, LabProcess>, group: string): Takeover[] {
  const found: Takeover[] = [];
  for (const [node, agent] of agents) {
    for (const line of agent.output().split('\n')) {
      if (!line.includes('"took over a gateway"')) continue;
      const entry = JSON.parse(line) as { time: string; event: { group: string; reason: string } };
      if (entry.event.group === `EgressGateway/${group}`) {
        found.push({ node, reason: entry.event.reason, at: entry.time });
      }
    }
  }
  return found.sort((a, b) => a.at.localeCompare(b.at));
}

/** The node that last took `group` over. */
export function activeNode(
  agents: ReadonlyMap<string, LabProcess>,
  group: string,
): string | undefined {
  return takeovers(agents, group).at(-1)?.node;
}

export interface FailoverMeasurement {
  /** From `kill()` to the first answer after the first loss. */
  ms: number;
  lost: number;
  /** Sources seen just before the kill and on recovery. */
  before: string;
  after: string;
}

/**
 * Probes from `pod` every 20 ms (a new UDP flow each time), runs `kill` once traffic
 * flows, and measures until traffic flows again. Answers that still came through the old
 * node in the moment before it died do not count: recovery is the first answer after the
 * first loss.
 */
export async function measureFailover(
  lab: Lab,
  pod: string,
  kill: () => Promise<unknown>,
): Promise<FailoverMeasurement> {
  const probe = startSourceProbeLoop(lab, pod);
  const { answers } = probe;
  try {
    await probe.answered(5, 5000);
    const killedAt = Date.now();
    await kill();
    const recovery = (): { at: number; ip: string | null } | undefined => {
      const after = answers.filter((a) => a.at > killedAt);
      const loss = after.findIndex((a) => a.ip === null);
      return loss < 0 ? undefined : after.slice(loss).find((a) => a.ip !== null);
    };
    await waitFor(async () => recovery() !== undefined, 5000, 'traffic after the kill');
    const back = recovery()!;
    return {
      ms: back.at - killedAt,
      lost: answers.filter((a) => a.at > killedAt && a.ip === null).length,
      before: answers.filter((a) => a.at <= killedAt && a.ip !== null).at(-1)!.ip!,
      after: back.ip!,
    };
  } finally {
    await probe.stop();
  }
}

/** A probe loop started by startSourceProbeLoop. */
export interface SourceProbeLoop {
  /** Every report so far, oldest first: when it arrived and the source seen (null: lost). */
  readonly answers: readonly { at: number; ip: string | null }[];
  /** Waits until at least `count` probes got an answer. */
  answered(count: number, timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Probes from `pod` every 20 ms (a new UDP flow each time, 150 ms timeout) until stopped,
 * recording each answer: for suites that watch the source over a stretch of time rather
 * than measure one failover.
 */
export function startSourceProbeLoop(lab: Lab, pod: string): SourceProbeLoop {
  const probe = lab.spawn(
    pod,
    nodeScriptArgv('source-probe', [
      ...['--transport', 'udp', '--host', OUTSIDE, '--port', '7777'],
      ...['--count', '0', '--interval-ms', '20', '--timeout-ms', '150'],
    ]),
    'probe-loop',
  );
  const answers: { at: number; ip: string | null }[] = [];
  probe.onLine((line, stream) => {
    const report = stream === 'stdout' ? parseProbeReport(line) : undefined;
    if (report) answers.push({ at: Date.now(), ip: report.ok ? report.source.ip : null });
  });
  return {
    answers,
    answered: (count, timeoutMs) =>
      waitFor(
        async () => answers.filter((a) => a.ip !== null).length >= count,
        timeoutMs,
        `${count} answered probes from ${pod}`,
      ),
    stop: async () => {
      await probe.kill();
    },
  };
}
