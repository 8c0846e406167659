// Failover time, for `npm run bench`: three gateway nodes and a worker with real agents
// (file mode), steering on every node (the worker tunnels each pod's traffic to its
// gateway's active node). Two gateways share the three nodes: one VirtualIPAddress, one
// PrimaryIPFromEgressGatewayNodeInterface, each with a pod probing every 20 ms. The
// active agent of a gateway is killed with SIGKILL several times; each kill is measured
// from the signal to the first answer through the new node (lab/egressgw-agents.ts,
// measureFailover), and the killed agent is started again as a standby before the next.

import {
  activeNode,
  type LabConfig,
  measureFailover,
  startAgent,
  VIP,
  waitFor,
  waitForSource,
  workDir,
  writeConfig,
} from '../lab/egressgw-agents.ts';
import { buildLab, type LabProcess } from '../lab/index.ts';
import { percentile } from './gateway-results.ts';

const GATEWAYS = ['gw1', 'gw2', 'gw3'];
const LABEL = { 'node-role.deckhouse.io/egress': '' };
const PRIMARY: Record<string, string> = {
  gw1: '172.18.18.11',
  gw2: '172.18.18.12',
  gw3: '172.18.18.13',
};
const MODES = {
  vip: { gateway: 'egress-vip', pod: 'worker1-pod1' },
  primary: { gateway: 'egress-primary', pod: 'worker1-pod2' },
} as const;

export interface FailoverRow {
  median: number;
  min: number;
  max: number;
  /** Every kill's figure, in order. */
  runs: number[];
  /** 20 ms probes lost per kill. */
  lost: number[];
}

export interface FailoverResults {
  vip: FailoverRow;
  primary: FailoverRow;
}

function config(): LabConfig {
  return {
    gateways: [
      { name: MODES.vip.gateway, mode: 'vip', nodeSelector: LABEL, vip: VIP },
      { name: MODES.primary.gateway, mode: 'primary', nodeSelector: LABEL },
    ],
    policies: [
      { name: 'vip', gateway: MODES.vip.gateway, app: 'vip', destinations: ['203.0.113.0/24'] },
      {
        name: 'primary',
        gateway: MODES.primary.gateway,
        app: 'primary',
        destinations: ['203.0.113.0/24'],
      },
    ],
    nodes: [
      ...GATEWAYS.map((name, i) => ({ name, address: `192.168.77.${11 + i}`, labels: LABEL })),
      { name: 'worker1', address: '192.168.77.21', labels: {} },
    ],
    pods: [
      { name: 'vip-1', ip: '10.244.1.11', node: 'worker1', app: 'vip' },
      { name: 'primary-1', ip: '10.244.1.12', node: 'worker1', app: 'primary' },
    ],
  };
}

function row(runs: number[], lost: number[]): FailoverRow {
  return {
    median: percentile(runs, 50)!,
    min: Math.min(...runs),
    max: Math.max(...runs),
    runs,
    lost,
  };
}

export async function measureFailovers(
  kills: number,
  progress: (line: string) => void,
): Promise<FailoverResults> {
  const lab = await buildLab({ gateways: 3, workers: 1, podsPerWorker: 2 });
  const dir = workDir();
  const configPath = `${dir.path}/config.yaml`;
  const agents = new Map<string, LabProcess>();
  const start = async (node: string): Promise<void> => {
    agents.set(node, await startAgent(lab, node, configPath, dir.path));
  };
  try {
    writeConfig(configPath, config());
    await Promise.all([...GATEWAYS, 'worker1'].map(start));
    await waitForSource(lab, MODES.vip.pod, VIP, 20_000);
    const results: Partial<FailoverResults> = {};
    for (const mode of ['vip', 'primary'] as const) {
      const { gateway, pod } = MODES[mode];
      await waitFor(
        async () => activeNode(agents, gateway) !== undefined,
        10_000,
        'an active node',
      );
      const runs: number[] = [];
      const lost: number[] = [];
      for (let kill = 1; kill <= kills; kill++) {
        const victim = activeNode(agents, gateway)!;
        const result = await measureFailover(lab, pod, () => agents.get(victim)!.kill('SIGKILL'));
        const expected = mode === 'vip' ? result.after === VIP : result.after !== PRIMARY[victim];
        if (!expected || result.before !== (mode === 'vip' ? VIP : PRIMARY[victim])) {
          throw new Error(
            `${mode}: the outside saw ${result.before} before and ${result.after} after ${victim} was killed`,
          );
        }
        runs.push(result.ms);
        lost.push(result.lost);
        progress(
          `failover ${mode} ${kill}/${kills}: ${victim} killed, traffic back after ${result.ms} ms (${result.lost} probes lost)`,
        );
        await waitFor(
          async () => activeNode(agents, gateway) !== victim,
          3000,
          'a new active node',
        );
        // Back as a standby, past its startup grace, before the next kill.
        await start(victim);
        await new Promise((resolve) => setTimeout(resolve, 3500));
      }
      results[mode] = row(runs, lost);
    }
    return results as FailoverResults;
  } finally {
    for (const agent of agents.values()) await agent.kill('SIGTERM');
    await lab.teardown();
    dir.dispose();
  }
}
