// Failover time, for `npm run bench`: three gateway nodes with real agents (file mode,
// VirtualIPAddress), a pod probing every 20 ms, the active agent killed with SIGKILL
// several times. Each kill is measured from the signal to the first answer through the
// new node (lab/egressgw-agents.ts, measureFailover); the killed agent is started
// again as a standby before the next kill.

import {
  activeNode,
  type LabConfig,
  measureFailover,
  startAgent,
  steerWorker,
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
const POD = 'worker1-pod1';

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
  /**
   * PrimaryIPFromEgressGatewayNodeInterface needs workers to follow the active node to
   * its own address (steering on every node), which is not built yet: null until it is.
   */
  primary: null;
}

function config(): LabConfig {
  return {
    gateways: [{ name: 'egress-gw', mode: 'vip', nodeSelector: LABEL, vip: VIP }],
    policies: [
      { name: 'backend', gateway: 'egress-gw', app: 'backend', destinations: ['203.0.113.0/24'] },
    ],
    nodes: GATEWAYS.map((name, i) => ({ name, address: `192.168.77.${11 + i}`, labels: LABEL })),
    pods: [{ name: 'backend-1', ip: '10.244.1.11', node: 'worker1', app: 'backend' }],
  };
}

export async function measureFailovers(
  kills: number,
  progress: (line: string) => void,
): Promise<FailoverResults> {
  const lab = await buildLab({ gateways: 3, workers: 1, podsPerWorker: 1 });
  const dir = workDir();
  const configPath = `${dir.path}/config.yaml`;
  const agents = new Map<string, LabProcess>();
  const start = async (node: string): Promise<void> => {
    agents.set(
      node,
      await startAgent(lab, node, configPath, dir.path, ['--announce-interface', 'eth0']),
    );
  };
  try {
    writeConfig(configPath, config());
    await Promise.all(GATEWAYS.map(start));
    await steerWorker(lab, 'worker1', VIP, { onlink: true });
    await waitForSource(lab, POD, VIP, 20_000);
    const runs: number[] = [];
    const lost: number[] = [];
    for (let kill = 1; kill <= kills; kill++) {
      const victim = activeNode(agents, 'egress-gw')!;
      const result = await measureFailover(lab, POD, () => agents.get(victim)!.kill('SIGKILL'));
      if (result.after !== VIP)
        throw new Error(`after the failover the outside saw ${result.after}, not the VIP`);
      runs.push(result.ms);
      lost.push(result.lost);
      progress(
        `failover ${kill}/${kills}: ${victim} killed, traffic back after ${result.ms} ms (${result.lost} probes lost)`,
      );
      await waitFor(
        async () => activeNode(agents, 'egress-gw') !== victim,
        3000,
        'a new active node',
      );
      // Back as a standby, past its startup grace, before the next kill.
      await start(victim);
      await new Promise((resolve) => setTimeout(resolve, 3500));
    }
    return {
      vip: {
        median: percentile(runs, 50)!,
        min: Math.min(...runs),
        max: Math.max(...runs),
        runs,
        lost,
      },
      primary: null,
    };
  } finally {
    for (const agent of agents.values()) await agent.kill('SIGTERM');
    await lab.teardown();
    dir.dispose();
  }
}
