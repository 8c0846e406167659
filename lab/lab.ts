/**
 * A built lab: its topology, the processes it started, and the helpers tests, the
 * benchmark and the demo drive it with. buildLab() (build.ts) makes one.
 *
 * Invariants: every process started through the lab is in `#processes` until it exits;
 * teardown() kills them all, then every process left in any lab namespace, then deletes
 * the namespaces; it runs once however often it is called, and afterwards every helper
 * throws EGW_LAB_TORN_DOWN.
 */

import { LabError } from './errors.ts';
import { ipBatch, type RunOptions, type RunResult, run, runInNetns } from './exec.ts';
import { guardUntilTeardown } from './exit-guard.ts';
import {
  type IperfCommon,
  type IperfTcpResult,
  type IperfUdpOptions,
  type IperfUdpResult,
  iperfDurationMs,
  iperfTcpArgs,
  iperfUdpArgs,
  parseIperfTcp,
  parseIperfUdp,
} from './iperf.ts';
import {
  type BaselineOptions,
  type BaselinePlan,
  type BaselineStep,
  planKernelBaseline,
} from './kernel-baseline.ts';
import {
  KERNEL_COUNTER_FILES,
  type KernelCounters,
  parseKernelCounters,
} from './kernel-counters.ts';
import { nodeScriptArgv } from './node-scripts.ts';
import {
  clearIcmpSourcesArgv,
  listIcmpSourcesArgv,
  outsideIcmpRuleset,
  parseIcmpSources,
} from './outside-icmp.ts';
import { type ProbeReport, parseProbeReport, type SeenSource } from './outside-protocol.ts';
import { OutsideServer } from './outside-service.ts';
import { type PingOptions, type PingResult, parsePing, pingArgs, pingDurationMs } from './ping.ts';
import { LabProcess } from './process.ts';
import { destroyNamespaces, destroyNamespacesSync } from './teardown.ts';
import {
  findNetns,
  findNode,
  type LabTopology,
  labNamespaces,
  NODE_INTERFACE,
  UPLINK_INTERFACE,
} from './topology.ts';
import { type Transport, waitForPort } from './wait-port.ts';

export interface ProbeOptions {
  /** Attempts, each a new flow. Default 1. */
  count?: number;
  intervalMs?: number;
  /** Per attempt. Default 1000 ms. */
  timeoutMs?: number;
  /** Default the outside server's address; another address of the outside namespace. */
  host?: string;
}

export interface IperfTarget {
  /** Default the outside server's address and iperf3 port. */
  host?: string;
  port?: number;
}

export class Lab {
  readonly topology: LabTopology;
  readonly namespaces: readonly string[];
  /** Interface names the lab uses on every node: eth0 on the node network, eth1 uplink. */
  readonly interfaces = { node: NODE_INTERFACE, uplink: UPLINK_INTERFACE } as const;
  /** Milliseconds each build step took (filled by buildLab). */
  readonly buildTimings: Record<string, number> = {};
  outsideServer: OutsideServer | undefined;
  iperfServer: LabProcess | undefined;

  #processes = new Set<LabProcess>();
  #baseline: BaselinePlan | undefined;
  #teardown: Promise<void> | undefined;
  #unguard: () => void;

  constructor(topology: LabTopology) {
    this.topology = topology;
    this.namespaces = labNamespaces(topology);
    this.#unguard = guardUntilTeardown(this);
  }

  get prefix(): string {
    return this.topology.prefix;
  }

  /** The namespace of a role name (gw1, worker1, worker1-pod1, router, outside, fabric). */
  netns(name: string): string {
    return findNetns(this.topology, name);
  }

  /** Runs a command in the namespace of `name` and waits for it. */
  run(name: string, argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    this.#checkLive();
    return runInNetns(this.netns(name), argv, options);
  }

  /** `ip -batch` lines in the namespace of `name`. */
  ip(name: string, lines: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    this.#checkLive();
    return ipBatch(this.netns(name), lines, options);
  }

  /** Starts a long-running command in the namespace of `name`; teardown kills it. */
  spawn(name: string, argv: readonly string[], label = argv[0] ?? name): LabProcess {
    this.#checkLive();
    const child = new LabProcess(`${name}/${label}`, this.netns(name), argv);
    this.#processes.add(child);
    void child.exited.then(() => this.#processes.delete(child));
    return child;
  }

  waitForPort(name: string, transport: Transport, port: number, timeoutMs?: number): Promise<void> {
    this.#checkLive();
    return waitForPort(this.netns(name), transport, port, timeoutMs);
  }

  /**
   * Starts the source server and `iperf3 -s` in the outside namespace, and the nftables
   * set that records ICMP echo sources there.
   */
  async startOutsideServices(): Promise<void> {
    if (this.outsideServer !== undefined) {
      throw new LabError(
        'EGW_LAB_BAD_SPEC',
        `lab ${this.prefix} already runs its outside services`,
      );
    }
    const { outside } = this.topology;
    const server = this.spawn(
      'outside',
      nodeScriptArgv('outside-server', ['--port', String(outside.sourcePort)]),
      'outside-server',
    );
    this.outsideServer = new OutsideServer(server, outside.sourcePort);
    this.iperfServer = this.spawn('outside', ['iperf3', '-s', '-p', String(outside.iperfPort)]);
    await Promise.all([
      runInNetns(outside.netns, ['nft', '-f', '-'], { input: outsideIcmpRuleset }),
      server.waitForLine(/"event":"listening"/),
      this.waitForPort('outside', 'tcp', outside.iperfPort),
    ]);
  }

  /**
   * Makes a Unix socket (e.g. the test's in-process API server) reachable over TCP at
   * `port` in the namespace of `name` (default the control-plane namespace, which
   * LabSpec.controlPlane adds at 192.168.77.2): nodes then use
   * https://192.168.77.2:PORT, and cutting a node's link cuts its API access too.
   */
  async bridgeToUnixSocket(
    socketPath: string,
    port: number,
    name = 'control-plane',
  ): Promise<LabProcess> {
    const bridge = this.spawn(
      name,
      nodeScriptArgv('unix-bridge', ['--socket', socketPath, '--port', String(port)]),
      'unix-bridge',
    );
    await bridge.waitForLine(/"event":"listening"/);
    return bridge;
  }

  /**
   * Asks the outside server which source it sees, from a pod (or any role: a node for
   * host-network traffic); one report per attempt, each attempt a new flow.
   */
  async probeSource(
    from: string,
    transport: Transport,
    options: ProbeOptions = {},
  ): Promise<ProbeReport[]> {
    this.#checkLive();
    const count = options.count ?? 1;
    const timeoutMs = options.timeoutMs ?? 1000;
    const intervalMs = options.intervalMs ?? 100;
    const { outside } = this.topology;
    const argv = nodeScriptArgv('source-probe', [
      '--transport',
      transport,
      '--host',
      options.host ?? outside.ip,
      '--port',
      String(outside.sourcePort),
      '--count',
      String(count),
      '--interval-ms',
      String(intervalMs),
      '--timeout-ms',
      String(timeoutMs),
    ]);
    const result = await runInNetns(this.netns(from), argv, {
      allowFailure: true,
      timeoutMs: 10_000 + count * (timeoutMs + intervalMs),
    });
    const reports = result.stdout
      .split('\n')
      .map(parseProbeReport)
      .filter((report) => report !== undefined);
    if (reports.length !== count) {
      throw new LabError(
        'EGW_LAB_BAD_OUTPUT',
        `source probe in ${from} gave ${reports.length} of ${count} reports: ${result.stderr.trim()}`,
      );
    }
    return reports;
  }

  /** The source the outside server sees for one new flow from `from` (a pod, usually). */
  async askSource(
    from: string,
    transport: Transport,
    timeoutMs = 1000,
    host?: string,
  ): Promise<SeenSource> {
    const [report] = await this.probeSource(from, transport, {
      timeoutMs,
      ...(host === undefined ? {} : { host }),
    });
    if (report === undefined || !report.ok) {
      throw new LabError(
        'EGW_LAB_TIMEOUT',
        `no ${transport} answer from the outside server to ${from}: ${report?.ok === false ? report.error : 'no report'}`,
      );
    }
    return report.source;
  }

  /**
   * Source addresses of the echo requests the outside namespace has received (sorted),
   * optionally forgetting them afterwards. Needs outsideServices.
   */
  async outsideIcmpSources(options: { clear?: boolean } = {}): Promise<string[]> {
    const listed = await this.run('outside', listIcmpSourcesArgv);
    if (options.clear === true) await this.run('outside', clearIcmpSourcesArgv);
    return parseIcmpSources(listed.stdout);
  }

  async ping(name: string, destination: string, options: PingOptions = {}): Promise<PingResult> {
    this.#checkLive();
    const result = await runInNetns(this.netns(name), pingArgs(destination, options), {
      allowFailure: true,
      timeoutMs: pingDurationMs(options) + 5_000,
    });
    return parsePing(result.stdout, result.stderr);
  }

  async iperfTcp(name: string, options: IperfCommon & IperfTarget = {}): Promise<IperfTcpResult> {
    const result = await this.#iperf(
      name,
      iperfTcpArgs(...this.#iperfTarget(options), options),
      options,
    );
    return parseIperfTcp(result.stdout);
  }

  async iperfUdp(
    name: string,
    options: IperfUdpOptions & IperfTarget = {},
  ): Promise<IperfUdpResult> {
    const result = await this.#iperf(
      name,
      iperfUdpArgs(...this.#iperfTarget(options), options),
      options,
    );
    return parseIperfUdp(result.stdout);
  }

  /** nstat-named counters (TcpInCsumErrors, UdpInCsumErrors, ...) of a namespace. */
  async kernelCounters(name: string): Promise<KernelCounters> {
    const result = await this.run(name, ['cat', ...KERNEL_COUNTER_FILES]);
    return parseKernelCounters(result.stdout);
  }

  /**
   * Turns transmit checksum offload on or off (`ethtool -K DEV tx on|off`) on devices of
   * a namespace, default every veth end there. Off makes the sender compute checksums,
   * so the receiver's InCsumErrors counters catch a wrong one (DESIGN.md, pitfalls).
   */
  async setTxChecksumOffload(
    name: string,
    enabled: boolean,
    devices?: readonly string[],
  ): Promise<void> {
    const netns = this.netns(name);
    const targets = devices ?? (await vethsIn(netns));
    await setTxChecksumOffloadIn(netns, targets, enabled);
  }

  /** SIGKILLs every process in a node's namespace (its agent, anything spawned there). */
  async killNodeProcesses(node: string): Promise<number> {
    this.#checkLive();
    const netns = findNode(this.topology, node).netns;
    const result = await run(['ip', 'netns', 'pids', netns]);
    const pids = result.stdout.split(/\s+/).filter((word) => /^[1-9][0-9]*$/.test(word));
    for (const pid of pids) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // Exited meanwhile.
      }
    }
    const tracked = [...this.#processes].filter((child) => child.netns === netns);
    await Promise.all(tracked.map((child) => child.exited));
    return pids.length;
  }

  /**
   * Cuts (or restores) a node's cable: sets the fabric side of its node-network or uplink
   * veth down (up). The node sees NO-CARRIER, as with a pulled cable; its own
   * configuration stays untouched.
   */
  async setNodeLink(node: string, link: 'node' | 'uplink', state: 'up' | 'down'): Promise<void> {
    this.#checkLive();
    const found = findNode(this.topology, node);
    let port = found.nodeFabricPort;
    if (link === 'uplink') {
      if (found.role !== 'gateway') {
        throw new LabError('EGW_LAB_UNKNOWN_NAME', `${node} is a worker and has no uplink`);
      }
      port = found.uplinkFabricPort;
    }
    await ipBatch(this.topology.fabric.netns, [`link set ${port} ${state}`]);
  }

  /**
   * Makes one gateway the kernel path (nftables masquerade or SNAT to a VIP) and steers the
   * workers' destination traffic to it; replaces any earlier baseline. Returns the plan,
   * whose `sourceIp` is what the outside server should see.
   */
  async enableKernelBaseline(options: BaselineOptions): Promise<BaselinePlan> {
    this.#checkLive();
    const plan = planKernelBaseline(this.topology, options);
    await this.disableKernelBaseline();
    this.#baseline = plan;
    await runInNetns(plan.gatewayNetns, ['nft', '-f', '-'], { input: plan.nftApply });
    await Promise.all(plan.steps.map((step) => applyStep(step, 'apply')));
    if (plan.routerFlush !== undefined) await applyStep(plan.routerFlush, 'apply');
    return plan;
  }

  /** Undoes enableKernelBaseline; does nothing when none is active. */
  async disableKernelBaseline(): Promise<void> {
    this.#checkLive();
    const plan = this.#baseline;
    if (plan === undefined) return;
    this.#baseline = undefined;
    // Undo everything even where an apply step had failed half-way.
    await runInNetns(plan.gatewayNetns, ['nft', '-f', '-'], { input: plan.nftUndo });
    await Promise.all(plan.steps.map((step) => applyStep(step, 'undo')));
  }

  get kernelBaseline(): BaselinePlan | undefined {
    return this.#baseline;
  }

  /** Kills every lab process and deletes every lab namespace. Safe to call repeatedly. */
  teardown(): Promise<void> {
    this.#teardown ??= (async () => {
      try {
        const children = [...this.#processes];
        for (const child of children) child.killSync();
        // Kills whatever else runs in the namespaces too (a daemon that left the process
        // group could otherwise hold a child's output pipe open forever).
        await destroyNamespaces(this.namespaces);
        await settleWithin(
          children.map((child) => child.exited),
          5_000,
        );
      } finally {
        this.#unguard();
      }
    })();
    return this.#teardown;
  }

  /** For process 'exit' handlers: the same, without waiting. */
  teardownSync(): void {
    for (const child of this.#processes) child.killSync();
    destroyNamespacesSync(this.namespaces);
    this.#teardown ??= Promise.resolve();
    this.#unguard();
  }

  get tornDown(): boolean {
    return this.#teardown !== undefined;
  }

  #checkLive(): void {
    if (this.#teardown !== undefined) {
      throw new LabError('EGW_LAB_TORN_DOWN', `lab ${this.prefix} has been torn down`);
    }
  }

  #iperfTarget(options: IperfTarget): [string, number] {
    return [
      options.host ?? this.topology.outside.ip,
      options.port ?? this.topology.outside.iperfPort,
    ];
  }

  async #iperf(name: string, argv: string[], options: IperfCommon): Promise<RunResult> {
    this.#checkLive();
    // iperf3 -J reports its own errors as JSON on stdout with exit status 1; the parser
    // turns them into EGW_LAB_COMMAND_FAILED with iperf3's message.
    return runInNetns(this.netns(name), argv, {
      allowFailure: true,
      timeoutMs: iperfDurationMs(options),
    });
  }
}

/** Waits for the promises, but no longer than `timeoutMs`. */
async function settleWithin(promises: Promise<unknown>[], timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
  });
  await Promise.race([Promise.allSettled(promises), timeout]);
  clearTimeout(timer);
}

function applyStep(step: BaselineStep, which: 'apply' | 'undo'): Promise<RunResult> {
  const lines = step[which];
  if (lines.length === 0) return Promise.resolve({ stdout: '', stderr: '', exitCode: 0 });
  if (which === 'apply') return ipBatch(step.netns, lines);
  return ipBatch(step.netns, lines, { force: true, allowFailure: true });
}

/** veth devices of a namespace, by `ip -d -j link`. */
export async function vethsIn(netns: string): Promise<string[]> {
  const result = await ipBatch(netns, ['link show type veth'], { json: true });
  const links = JSON.parse(result.stdout.trim() || '[]') as { ifname: string }[];
  return links.map((link) => link.ifname);
}

/** ethtool -K DEV tx on|off for each device, in one exec. */
export async function setTxChecksumOffloadIn(
  netns: string,
  devices: readonly string[],
  enabled: boolean,
): Promise<void> {
  if (devices.length === 0) return;
  // One shell per namespace instead of one exec per device; device names come from the
  // plan or the kernel and are passed as arguments, never spliced into the script.
  await runInNetns(netns, [
    'sh',
    '-c',
    'state=$1; shift; for dev do ethtool -K "$dev" tx "$state" >/dev/null || exit 1; done',
    'sh',
    enabled ? 'on' : 'off',
    ...devices,
  ]);
}
