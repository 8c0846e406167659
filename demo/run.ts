// `npm run demo` (as root): a namespace cluster, real egressgw agents, a pod's traffic
// leaving through the gateway in both modes, and a failover, measured. Everything it
// creates lives in network namespaces and is removed at the end, even on Ctrl-C.

import {
  activeNode,
  configYaml,
  type LabConfig,
  measureFailover,
  OUTSIDE,
  startAgent,
  VIP,
  waitFor,
  waitForSource,
  workDir,
  writeConfig,
} from '../lab/egressgw-agents.ts';
import { buildLab, type Lab, type LabProcess } from '../lab/index.ts';

const GATEWAYS = ['gw1', 'gw2', 'gw3'];
const LABEL = { 'node-role.deckhouse.io/egress': '' };
const POD = 'worker1-pod1';
const OTHER_POD = 'worker1-pod2';

const bold = (text: string): string => (process.stdout.isTTY ? `\x1b[1m${text}\x1b[0m` : text);
const step = (n: number, text: string): void => console.log(`\n${bold(`${n}. ${text}`)}`);
const say = (text: string): void => console.log(`   ${text}`);

function vipConfig(): LabConfig {
  return {
    gateways: [{ name: 'egress-gw', mode: 'vip', nodeSelector: LABEL, vip: VIP }],
    policies: [
      {
        name: 'egress-gw-policy',
        gateway: 'egress-gw',
        app: 'backend',
        destinations: ['0.0.0.0/0'],
      },
    ],
    nodes: [
      ...GATEWAYS.map((name, i) => ({ name, address: `192.168.77.${11 + i}`, labels: LABEL })),
      { name: 'worker1', address: '192.168.77.21', labels: {} },
    ],
    pods: [
      { name: 'backend-1', ip: '10.244.1.11', node: 'worker1', app: 'backend' },
      { name: 'frontend-1', ip: '10.244.1.12', node: 'worker1', app: 'frontend' },
    ],
  };
}

function primaryConfig(): LabConfig {
  return {
    ...vipConfig(),
    gateways: [{ name: 'egress-gw', mode: 'primary', nodeSelector: LABEL }],
  };
}

async function seen(lab: Lab, pod: string): Promise<string> {
  const tcp = await lab.askSource(pod, 'tcp').catch(() => null);
  const udp = await lab.askSource(pod, 'udp').catch(() => null);
  await lab.outsideIcmpSources({ clear: true });
  const ping = await lab.ping(pod, OUTSIDE, { count: 1 }).catch(() => null);
  const icmp = ping?.received ? (await lab.outsideIcmpSources()).join(',') : 'no answer';
  return `TCP ${tcp ? `${tcp.ip}:${tcp.port}` : 'no answer'}, UDP ${udp ? `${udp.ip}:${udp.port}` : 'no answer'}, ICMP ${icmp}`;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.error('the demo builds network namespaces: run it as root (sudo npm run demo)');
    process.exit(1);
  }
  const dir = workDir();
  const configPath = `${dir.path}/config.yaml`;
  const agents = new Map<string, LabProcess>();

  step(1, 'Building a cluster out of network namespaces');
  const lab = await buildLab({ gateways: 3, workers: 1, podsPerWorker: 2 });
  try {
    say('worker1 with pods backend-1 (10.244.1.11) and frontend-1 (10.244.1.12)');
    say(
      'gateway nodes gw1, gw2, gw3 on the node network 192.168.77.0/24 and the uplink 172.18.18.0/24',
    );
    say(`an outside server at ${OUTSIDE} that answers with the source address it sees`);

    step(2, 'The egress objects, as a user writes them (Deckhouse API)');
    writeConfig(configPath, vipConfig());
    for (const line of configYaml(vipConfig())
      .split('\n---\n')
      .slice(0, 2)
      .join('\n---\n')
      .split('\n')) {
      say(`  ${line}`);
    }

    step(3, 'Starting an egressgw agent on every node, as the DaemonSet does');
    await Promise.all(
      [...GATEWAYS, 'worker1'].map(async (node) => {
        agents.set(node, await startAgent(lab, node, configPath, dir.path));
      }),
    );
    await waitForSource(lab, POD, VIP, 20_000);
    say(
      `agents heartbeat each other; ${activeNode(agents, 'egress-gw')} was elected active, the others stand by`,
    );
    say("worker1's agent steers backend-1's traffic through a VXLAN tunnel to the active node");

    step(4, 'VirtualIPAddress mode: who does the outside see?');
    say(`backend-1 (selected):  ${await seen(lab, POD)}`);
    await lab.probeSource(OTHER_POD, 'udp', { timeoutMs: 300 });
    const raw = lab.outsideServer?.seen.filter((e) => e.source.ip === '10.244.1.12').at(-1);
    say(
      `frontend-1 (no policy): ${raw ? `the outside saw ${raw.source.ip}` : 'no answer'}: not steered, it keeps` +
        " the node's own path (which, in this lab, leads nowhere)",
    );

    step(
      5,
      `Killing the active gateway's agent (SIGKILL) while backend-1 sends a packet every 20 ms`,
    );
    const from = activeNode(agents, 'egress-gw')!;
    const result = await measureFailover(lab, POD, () => agents.get(from)!.kill('SIGKILL'));
    await waitFor(async () => activeNode(agents, 'egress-gw') !== from, 2000, 'a new active node');
    const to = activeNode(agents, 'egress-gw');
    say(`${from} killed; traffic flows through ${to} again after ${result.ms} ms`);
    say(`backend-1 now: ${await seen(lab, POD)}  <- the same VIP`);

    step(6, 'PrimaryIPFromEgressGatewayNodeInterface mode: the active node lends its own address');
    writeConfig(configPath, primaryConfig());
    const holder = activeNode(agents, 'egress-gw')!;
    const nodeIp = `172.18.18.${11 + GATEWAYS.indexOf(holder)}`;
    await waitForSource(lab, POD, nodeIp, 10_000);
    say(
      `backend-1: ${await seen(lab, POD)}  <- ${holder}'s uplink address, on its reserved NAT ports`,
    );

    step(7, 'Cleaning up');
  } finally {
    for (const agent of agents.values()) await agent.kill('SIGTERM');
    await lab.teardown();
    dir.dispose();
  }
  say('agents stopped (routes, nftables and kernel settings given back), namespaces removed');
}

await main();
