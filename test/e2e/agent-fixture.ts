import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Lab, LabProcess } from '../../lab/index.ts';

// Helpers for end-to-end suites that run real egressgw agents in lab namespaces.

const MAIN = fileURLToPath(new URL('../../host/cli/main.ts', import.meta.url));
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
  /** Deckhouse policies: name, gateway, pod label selector, destinations. */
  policies: { name: string; gateway: string; app: string; destinations: string[] }[];
  /** Gateway nodes: name, node-network address, labels. */
  nodes: {
    name: string;
    address: string;
    labels: Record<string, string>;
    ready?: boolean;
    unschedulable?: boolean;
  }[];
  /** Pods: name, ip, node, app label. */
  pods: { name: string; ip: string; node: string; app: string }[];
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
      `apiVersion: network.deckhouse.io/v1alpha1\nkind: EgressGatewayPolicy\nmetadata:\n  name: ${policy.name}\nspec:\n  destinationCIDRs: [${policy.destinations.join(', ')}]\n  egressGatewayName: ${policy.gateway}\n  selectors:\n    - podSelector:\n        matchLabels:\n          app: ${policy.app}\n          io.kubernetes.pod.namespace: default`,
    );
  }
  for (const node of config.nodes) {
    docs.push(
      `apiVersion: v1\nkind: Node\nmetadata:\n  name: ${node.name}\n  labels:\n${labelsYaml(node.labels, 4)}\nspec:\n  unschedulable: ${node.unschedulable ?? false}\nstatus:\n  conditions:\n    - type: Ready\n      status: "${node.ready === false ? 'False' : 'True'}"\n  addresses:\n    - type: InternalIP\n      address: ${node.address}`,
    );
  }
  for (const pod of config.pods) {
    docs.push(
      `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${pod.name}\n  namespace: default\n  labels:\n    app: ${pod.app}\nspec:\n  nodeName: ${pod.node}\nstatus:\n  phase: Running\n  podIP: ${pod.ip}`,
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

/** Starts an agent in a gateway node's namespace and waits until it runs. */
export async function startAgent(
  lab: Lab,
  node: string,
  configPath: string,
  stateDir: string,
  extraArgs: string[] = [],
): Promise<LabProcess> {
  const agent = lab.spawn(
    node,
    [
      'env',
      'EGRESSGW_HEARTBEAT_SECRET=e2e-secret',
      process.execPath,
      MAIN,
      'agent',
      '--node-name',
      node,
      '--metrics-port',
      '0',
      '--config',
      configPath,
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
  await agent.waitForLine(/"agent running"/, 20_000);
  return agent;
}

/** Routes a worker's pod traffic to the outside via one gateway node (until steering). */
export async function steerWorker(lab: Lab, worker: string, gatewayAddress: string): Promise<void> {
  await lab.ip(worker, [
    `route replace default via ${gatewayAddress} dev eth0 table 178`,
    'rule add to 203.0.113.0/24 lookup 178 pref 1000',
  ]);
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
