import { mkdirSync } from 'node:fs';
import type { Logger } from 'pino';
import type { CompileResult } from '../control/compile.ts';
import type { NodeInterface } from '../control/inputs.ts';
import type { PortRanges } from '../control/nat-policy.ts';
import type { CoreConfig } from '../dataplane/core.ts';
import { Elector } from '../election/elector.ts';
import { Heartbeat } from '../election/heartbeat.ts';
import type { LeaseStore } from '../election/lease-store.ts';
import type { DataplaneReadings } from '../metrics/dataplane-readings.ts';
import { startObservability } from '../metrics/observability.ts';
import { ArpAnnouncer } from '../net/arp/announcer.ts';
import { ArpSocket } from '../net/arp/packet-socket.ts';
import { ArpResponder } from '../net/arp/responder.ts';
import { exec } from '../net/exec.ts';
import { GatewayNetwork } from '../net/gateway-network.ts';
import { defaultGatewayConfig } from '../net/gateway-plan.ts';
import { fileJournal } from '../net/restore-journal.ts';
import { procSysctl } from '../net/sysctl.ts';
import type { TunnelConfig } from '../net/tunnel-plan.ts';
import { Agent } from './agent.ts';
import type { ConfigSource } from './config-source.ts';
import type { Dataplane } from './dataplane.ts';
import { DataplaneOnDemand } from './dataplane-on-demand.ts';
import { AgentError } from './errors.ts';
import { readOwnInterfaces } from './own-interfaces.ts';

export interface AgentRuntimeOptions {
  nodeName: string;
  source: ConfigSource;
  /** Where replies from outside arrive and VIPs are announced. */
  uplink: string;
  /**
   * More interfaces where the active node answers ARP for its VIPs and announces them:
   * on a node network that shares a layer 2 segment, workers can then route selected
   * traffic with the VIP as next hop and follow a failover by gratuitous ARP alone.
   */
  announceInterfaces: string[];
  tunName: string;
  clusterCIDRs: string[];
  ports: PortRanges;
  heartbeat: { address: string | null; port: number; secret: string };
  /**
   * How long a starting agent takes no role. Agents of a cluster that start together
   * (a rollout, a reboot of the cluster) then see each other before the first choice,
   * which spreads roles; roles of healthy nodes are never moved afterwards.
   */
  startupGraceMs: number;
  /** Holds the journal of kernel settings to give back on exit. */
  stateDir: string;
  core?: Partial<CoreConfig>;
  /** Where /metrics, /healthz and /readyz are served; null for none. */
  metrics: { host: string; port: number } | null;
  /** Root of the kernel settings tree (/proc/sys, or the host's mounted elsewhere). */
  procSysRoot: string;
  /**
   * Drop the outside traffic of this node's pods the agent does not know yet (default
   * true; needs the Node's spec.podCIDRs). See net/tunnel-plan.ts, "the pod guard".
   */
  holdUnknownPods?: boolean;
  /** The steering tunnel's settings (net/tunnel-plan.ts); defaults for what is left out. */
  tunnel?: Partial<Pick<TunnelConfig, 'port' | 'vni' | 'mtu' | 'whenNoGateway'>>;
  /** Lease fencing (Kubernetes mode); null in file mode, where heartbeats alone decide. */
  leaseStore: LeaseStore | null;
  /** Called with the node's interfaces on every reconcile (Kubernetes mode publishes them). */
  publishInterfaces?: (interfaces: NodeInterface[]) => Promise<void>;
  /**
   * Where the computed statuses go (Kubernetes mode); given the live agents as this node
   * sees them, so that one of them can be the writer, and the dataplane's port use for
   * the connection counts in status.connections.
   */
  statusSink?: (
    liveAgents: () => string[],
    dataplane?: Pick<DataplaneReadings, 'portUse'>,
  ) => { write(result: CompileResult): void };
  log: Logger;
}

/** A running agent and everything it started, stopped in reverse order. */
export interface AgentRuntime {
  agent: Agent;
  /** Started when the node first has something to translate (gateway nodes only). */
  dataplane: DataplaneOnDemand;
  heartbeat: Heartbeat;
  elector: Elector;
  /**
   * Settles when the dataplane ends on its own (the worker crashed, the TUN was deleted):
   * the node can no longer translate, so the caller stops everything, which withdraws
   * its announcements, and exits with an error for its supervisor to restart it.
   */
  failed: Promise<Error>;
  stop(): Promise<void>;
}

/**
 * Starts the parts of an agent in dependency order: the dataplane (which starts the TUN
 * on demand, before the first policy that needs it, and so before routing points at it),
 * then routing and ARP, then the peers (heartbeats, election), and the agent that drives
 * them all last.
 */
export async function startAgentRuntime(options: AgentRuntimeOptions): Promise<AgentRuntime> {
  const { log } = options;
  mkdirSync(options.stateDir, { recursive: true });
  const heartbeatAddress = options.heartbeat.address ?? (await ownNodeAddress(options));

  const stack: Array<() => Promise<void> | void> = [];
  let stopping = false;
  const stopAll = async (): Promise<void> => {
    stopping = true;
    for (const step of stack.reverse()) {
      try {
        await step();
      } catch (error) {
        log.error({ err: error }, 'stopping a part of the agent failed');
      }
    }
  };
  try {
    const observability =
      options.metrics === null ? null : await startObservability(options.metrics);
    if (observability) stack.push(() => observability.stop());
    const configApplied = observability?.health.readinessFlag(
      'config',
      'no configuration applied yet',
    );

    // Settles when a started dataplane ends on its own; never while none was needed.
    let dataplaneFailed: (error: Error) => void = () => {};
    const failed = new Promise<Error>((resolve) => {
      dataplaneFailed = resolve;
    });
    let workerEnded = false;
    const dataplane = new DataplaneOnDemand(
      { tunName: options.tunName, ...(options.core ? { core: options.core } : {}) },
      (started) => {
        log.info({ tun: started.tun.name, offloads: started.tun.offloads }, 'dataplane started');
        observability?.metrics.attachDataplane(dataplaneReadings(started));
        started.worker.ended
          .then(
            (end) => new AgentError('EGW_DATAPLANE_STALLED', `the dataplane worker ended: ${end}`),
            (error: unknown) =>
              new AgentError(
                'EGW_DATAPLANE_STALLED',
                `the dataplane worker failed: ${String(error)}`,
                { cause: error },
              ),
          )
          .then((error) => {
            workerEnded = true;
            if (!stopping) log.error({ err: error }, 'the dataplane stopped');
            dataplaneFailed(error);
          });
      },
    );
    stack.push(() => dataplane.stop());
    if (observability) {
      stack.push(() => observability.metrics.attachDataplane(null));
      observability.health.addReadiness('dataplane', () => {
        if (workerEnded) return { ok: false, message: 'the dataplane worker has stopped' };
        const error = dataplane.startError;
        return error === null
          ? { ok: true }
          : { ok: false, message: `the dataplane cannot start: ${error.message}` };
      });
    }

    const network = new GatewayNetwork({
      context: { exec, netns: null },
      sysctl: procSysctl(options.procSysRoot),
      journal: fileJournal(`${options.stateDir}/restore-journal.json`),
      config: {
        ...defaultGatewayConfig,
        tunName: dataplane.tunName,
        uplink: options.uplink,
        tunnel: { ...defaultGatewayConfig.tunnel, ...options.tunnel },
      },
      onRepair: (changes) =>
        log.warn({ changes }, 'repaired routing that was changed behind our back'),
      onError: (error) => log.error({ err: error }, 'routing repair failed'),
    });
    stack.push(async () => {
      network.stop();
      await network.teardown();
    });
    network.start();

    // Every node runs the agent (a DaemonSet); one without the uplink cannot carry a VIP
    // and is never suitable for one (control/node-fitness.ts), so it announces nothing.
    const sockets: ArpSocket[] = [];
    for (const name of new Set([options.uplink, ...options.announceInterfaces])) {
      try {
        const socket = ArpSocket.open(name);
        stack.push(() => socket.close());
        sockets.push(socket);
      } catch (error) {
        log.warn(
          { err: error, interface: name },
          'no ARP on this interface: VIPs are not announced there',
        );
      }
    }
    const announcer = new ArpAnnouncer(sockets, undefined, (failure) =>
      log.error({ failure }, 'gratuitous ARP could not be sent'),
    );
    stack.push(() => announcer.close());
    for (const socket of sockets) {
      new ArpResponder(socket, (ip) => announcer.refCount(ip) > 0).start();
    }

    const heartbeat = new Heartbeat({
      node: options.nodeName,
      address: heartbeatAddress,
      port: options.heartbeat.port,
      secret: options.heartbeat.secret,
    });
    await heartbeat.start();
    stack.push(() => heartbeat.stop({ goodbye: true }));

    const elector = new Elector({
      heartbeat,
      leases: options.leaseStore === null ? null : { store: options.leaseStore },
      startupGraceMs: options.startupGraceMs,
    });
    elector.on('error', (error) => log.error({ err: error }, 'election error'));
    // A holdover is the only sign of an API server outage that changes nothing else.
    elector.on('lease-holdover', (event) =>
      log.warn(
        { event },
        event.holding ? 'keeping a role past its Lease deadline' : 'holdover over',
      ),
    );
    elector.on('step-down', (event) => log.info({ event }, 'gave up a gateway'));
    elector.start();
    stack.push(() => elector.stop({ graceful: true }));

    const agent = new Agent(
      {
        source: options.source,
        dataplane,
        network,
        announcer,
        heartbeat,
        elector,
        interfaces: async () => {
          const own = await readOwnInterfaces([dataplane.tunName]);
          await options
            .publishInterfaces?.(own)
            .catch((error: unknown) =>
              log.warn({ err: error }, "this node's interfaces could not be published"),
            );
          return own;
        },
      },
      {
        nodeName: options.nodeName,
        clusterCIDRs: options.clusterCIDRs,
        ports: options.ports,
        heartbeatPort: options.heartbeat.port,
        holdUnknownPods: options.holdUnknownPods ?? true,
      },
    );
    stack.push(() => agent.stop());
    agent.on('reconcile-error', (error) => log.error({ err: error }, 'reconcile failed; retrying'));
    agent.on('degraded', (reason) => log.warn({ reason }, 'partly working'));
    agent.on('takeover', (event) => {
      log.info({ event }, 'took over a gateway');
      if (event.sinceLastHeartbeatMs !== null) {
        observability?.metrics.recordFailover(event.group, event.sinceLastHeartbeatMs / 1000);
      }
    });
    elector.on('role', (view) =>
      observability?.metrics.setElectionRole(view.key, options.nodeName, view.role === 'active'),
    );
    const liveAgents = (): string[] => [
      options.nodeName,
      ...(options.source.current()?.nodes ?? [])
        .map((n) => n.name)
        .filter((n) => heartbeat.isAlive(n)),
    ];
    const statuses = options.statusSink?.(liveAgents, {
      portUse: () => dataplane.current?.core.portUse() ?? [],
    });
    agent.on('reconciled', (result, announced) => {
      statuses?.write(result);
      configApplied?.set(true);
      log.debug({ groups: result.state.groups.length, announced }, 'reconciled');
    });
    heartbeat.on('liveness', (event) => {
      log.info({ event }, 'peer liveness changed');
      agent.trigger();
    });
    agent.trigger();
    return { agent, dataplane, heartbeat, elector, failed, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** The heartbeat address when none is given: this node's first address in the config. */
async function ownNodeAddress(options: AgentRuntimeOptions): Promise<string> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const node = options.source.current()?.nodes.find((n) => n.name === options.nodeName);
    if (node && node.addresses.length > 0) return node.addresses[0]!;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new AgentError(
    'EGW_AGENT_CONFIG',
    `node ${options.nodeName} has no address in the configuration: give --heartbeat-address`,
  );
}

/**
 * What the metrics read from the dataplane at scrape time: the core's counters and table
 * use, straight from the shared memory (reads only; the worker keeps running).
 */
function dataplaneReadings(dataplane: Dataplane): DataplaneReadings {
  const capacity = dataplane.core.capacity();
  return {
    counters: () => dataplane.core.counters(),
    flowTable: () => ({
      entries: dataplane.core.flowCount(),
      capacity,
      mappings: dataplane.core.mappingCount(),
    }),
    portUse: () => dataplane.core.portUse(),
  };
}
