#!/usr/bin/env node
import { Command, Option } from 'commander';
import { loadKubeConfig } from '../k8s/kubeconfig.ts';
import { defaultTunnelConfig } from '../net/tunnel-plan.ts';
import { runAgentCommand } from './agent-command.ts';
import { addBenchCommand } from './bench-command.ts';
import { addDemoCommand } from './demo-command.ts';
import { collect, parseMtu, parsePort, parsePortRange, parseVni } from './parse-options.ts';
import { runStatus } from './status.ts';
import { runValidate } from './validate.ts';

// The egressgw command line. Exit codes: 0 success, 1 failure or problems found,
// 2 usage errors (commander's own), 3 something needed is missing, 4 no privilege; see
// exit-codes.ts.

const program = new Command()
  .name('egressgw')
  .description('Kubernetes egress gateway with a userspace WebAssembly dataplane')
  .showHelpAfterError()
  .exitOverride((error) => {
    process.exit(error.exitCode === 1 ? 2 : error.exitCode);
  });

program
  .command('agent')
  .description('run the node agent: dataplane, routing, ARP, election (until SIGTERM)')
  .option('-c, --config <file>', 'YAML file with the egress objects, Nodes and Pods (file mode)')
  .option('--kubeconfig <file>', 'Kubernetes mode: the API server from this kubeconfig')
  .option('--in-cluster', "Kubernetes mode: the API server from the pod's service account", false)
  .option('--namespace <name>', "the agent's namespace, where its Leases live", 'egressgw')
  .addOption(
    new Option('--sync-timeout-ms <ms>', 'how long to wait for the first full view of the cluster')
      .default(60_000)
      .argParser(Number),
  )
  .requiredOption('--uplink <interface>', 'interface where replies arrive and VIPs are announced')
  .option(
    '--announce-interface <interface>',
    'also answer ARP for and announce VIPs here, e.g. a shared node network (repeatable)',
    collect,
    [],
  )
  .option('--node-name <name>', "this node's name (default: $NODE_NAME, then the hostname)")
  .option('--tun-name <name>', 'name of the TUN device', 'egw0')
  .option(
    '--cluster-cidr <cidr>',
    'pod, service or node network: never translated (repeatable)',
    collect,
    [],
  )
  .addOption(
    new Option('--nat-ports <min-max>', 'SNAT ports on virtual IPs')
      .default({ portMin: 1024, portMax: 65535 }, '1024-65535')
      .argParser(parsePortRange),
  )
  .addOption(
    new Option(
      '--node-nat-ports <min-max>',
      "SNAT ports on the node's own addresses, reserved from its local stack",
    )
      .default({ portMin: 61000, portMax: 65535 }, '61000-65535')
      .argParser(parsePortRange),
  )
  .option(
    '--heartbeat-address <ip>',
    "address the heartbeats bind to (default: this node's first address)",
  )
  .addOption(
    new Option('--heartbeat-port <port>', "UDP port of the agents' heartbeats")
      .default(9472)
      .argParser(parsePort),
  )
  .option(
    '--heartbeat-secret-file <file>',
    'file holding the heartbeat key (or set EGRESSGW_HEARTBEAT_SECRET)',
  )
  .addOption(
    new Option(
      '--startup-grace-ms <ms>',
      'how long a starting agent takes no role (peers show up first)',
    )
      .default(3000)
      .argParser(Number),
  )
  .option('--state-dir <dir>', 'where kernel settings to give back are recorded', '/run/egressgw')
  .addOption(
    new Option('--max-flows <n>', 'connection table size, a power of two')
      .default(1 << 18)
      .argParser(Number),
  )
  .option('--log-level <level>', 'trace, debug, info, warn, error', 'info')
  .option('--metrics-host <ip>', 'address of /metrics, /healthz, /readyz', '127.0.0.1')
  .addOption(
    new Option('--metrics-port <port>', 'port of /metrics, /healthz, /readyz (0: none)')
      .default(9471)
      .argParser((text) => (text === '0' ? 0 : parsePort(text))),
  )
  .option(
    '--proc-sys-root <dir>',
    "where kernel settings live (the host's, in a container)",
    '/proc/sys',
  )
  .addOption(
    new Option('--tunnel-port <port>', 'UDP port of the VXLAN tunnel that steers pod traffic')
      .default(defaultTunnelConfig.port)
      .argParser(parsePort),
  )
  .addOption(
    new Option('--tunnel-vni <vni>', 'VXLAN network identifier of the steering tunnel')
      .default(defaultTunnelConfig.vni)
      .argParser(parseVni),
  )
  .addOption(
    new Option(
      '--tunnel-mtu <mtu>',
      "the tunnel's MTU (default: the node network's minus 50)",
    ).argParser(parseMtu),
  )
  .addOption(
    new Option(
      '--when-no-gateway <action>',
      "selected traffic of a gateway without a suitable node: drop it, or let it leave with the node's address",
    )
      .choices(['drop', 'node-address'])
      .default(defaultTunnelConfig.whenNoGateway),
  )
  .option(
    '--no-hold-unknown-pods',
    "let pods the agent has not seen yet reach the outside with the node's address (default: held until known)",
  )
  .action(async (options) => {
    process.exitCode = await runAgentCommand(options);
  });

program
  .command('status')
  .description('the egress objects as the agents describe them: active node, address, readiness')
  .option('--kubeconfig <file>', 'the API server from this kubeconfig (default: in-cluster)')
  .action(async (options: { kubeconfig?: string }) => {
    const kc = loadKubeConfig(
      options.kubeconfig === undefined ? {} : { kubeconfigPath: options.kubeconfig },
    );
    process.exitCode = await runStatus(kc, process);
  });

program
  .command('validate')
  .description('check a file of egress objects, Nodes and Pods; print every problem with its place')
  .requiredOption('-f, --filename <file>', 'the YAML file')
  .option('-o, --output <format>', 'text or json', 'text')
  .action(async (options: { filename: string; output: string }) => {
    process.exitCode = await runValidate(
      { file: options.filename, output: options.output },
      process,
    );
  });

addBenchCommand(program);
addDemoCommand(program);

await program.parseAsync(process.argv);
