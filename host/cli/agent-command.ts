import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { type AgentRuntime, startAgentRuntime } from '../agent/agent-runtime.ts';
import { AgentError } from '../agent/errors.ts';
import type { PortRange } from '../control/nat-policy.ts';
import { agentStartupExit } from './agent-exit.ts';
import { type AgentSources, openFileSources, openKubeSources } from './agent-sources.ts';
import { exitCodes } from './exit-codes.ts';
import { createLogger } from './log.ts';

export interface AgentCommandOptions {
  nodeName?: string;
  /** File mode: the YAML file. */
  config?: string;
  /** Kubernetes mode: a kubeconfig file, or the in-cluster configuration. */
  kubeconfig?: string;
  inCluster: boolean;
  /** The agent's namespace: where its Leases live. */
  namespace: string;
  syncTimeoutMs: number;
  uplink: string;
  announceInterface: string[];
  tunName: string;
  clusterCidr: string[];
  natPorts: PortRange;
  nodeNatPorts: PortRange;
  heartbeatAddress?: string;
  heartbeatPort: number;
  heartbeatSecretFile?: string;
  startupGraceMs: number;
  stateDir: string;
  maxFlows: number;
  logLevel: string;
  metricsHost: string;
  /** 0: no metrics server. */
  metricsPort: number;
  procSysRoot: string;
  tunnelPort: number;
  tunnelVni: number;
  tunnelMtu?: number;
  whenNoGateway: 'drop' | 'node-address';
  holdUnknownPods: boolean;
}

/**
 * `egressgw agent`: runs until SIGTERM or SIGINT, then gives every route, rule, kernel
 * setting and announcement back before it exits. Returns the exit code.
 */
export async function runAgentCommand(
  options: AgentCommandOptions,
  stderr: { write(text: string): unknown } = process.stderr,
): Promise<number> {
  const nodeName = options.nodeName ?? process.env['NODE_NAME'] ?? hostname();
  let log: Logger;
  try {
    log = createLogger(options.logLevel, { node: nodeName });
  } catch (error) {
    // pino refuses an unknown level before there is a log to write to.
    stderr.write(`egressgw agent: bad --log-level: ${(error as Error).message}\n`);
    return exitCodes.usage;
  }
  let started: { sources: AgentSources; runtime: AgentRuntime };
  try {
    started = await startAgent(options, nodeName, log);
  } catch (error) {
    // Startup failures end here with the code scripts and the kubelet's logs can tell
    // apart (exit-codes.ts), rather than as an unhandled rejection that exits 1.
    const exit = agentStartupExit(error);
    log.error({ err: error, exitCode: exit.exitCode, reason: exit.reason }, exit.message);
    stderr.write(`egressgw agent: ${exit.message}\n`);
    return exit.exitCode;
  }
  const { sources, runtime } = started;
  log.info(
    {
      config: options.config ?? 'kubernetes',
      uplink: options.uplink,
      fenced: sources.leaseStore !== null,
    },
    'agent running',
  );

  const failure = await new Promise<Error | null>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      log.info({ signal }, 'stopping');
      resolve(null);
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    void runtime.failed.then(resolve);
  });
  await runtime.stop();
  await sources.close();
  if (failure !== null) {
    log.error(
      { err: failure },
      'stopped because the dataplane failed; routing and kernel settings given back',
    );
    return exitCodes.failure;
  }
  log.info('stopped; routing and kernel settings given back');
  return exitCodes.ok;
}

/** Opens the sources and starts the runtime; closes the sources if the runtime fails. */
async function startAgent(
  options: AgentCommandOptions,
  nodeName: string,
  log: Logger,
): Promise<{ sources: AgentSources; runtime: AgentRuntime }> {
  const secret = heartbeatSecret(options);
  // In a pod (the DaemonSet) with neither source given, the API server is the source.
  const inCluster =
    options.inCluster ||
    (options.config === undefined &&
      options.kubeconfig === undefined &&
      process.env['KUBERNETES_SERVICE_HOST'] !== undefined);
  if ((options.config === undefined) === (options.kubeconfig === undefined && !inCluster)) {
    throw new AgentError(
      'EGW_AGENT_CONFIG',
      'give exactly one source: --config FILE (file mode), or --kubeconfig FILE / --in-cluster (Kubernetes)',
    );
  }
  const sources =
    options.config !== undefined
      ? await openFileSources(options.config, log)
      : await openKubeSources(
          {
            kubeconfig: options.kubeconfig,
            nodeName,
            leaseNamespace: options.namespace,
            syncTimeoutMs: options.syncTimeoutMs,
          },
          log,
        );
  try {
    const runtime = await startAgentRuntime({
      nodeName,
      source: sources.source,
      leaseStore: sources.leaseStore,
      ...(sources.publishInterfaces ? { publishInterfaces: sources.publishInterfaces } : {}),
      ...(sources.statusSink ? { statusSink: sources.statusSink } : {}),
      uplink: options.uplink,
      announceInterfaces: options.announceInterface,
      tunName: options.tunName,
      clusterCIDRs: options.clusterCidr,
      ports: { virtual: options.natPorts, nodeOwned: options.nodeNatPorts },
      heartbeat: {
        address: options.heartbeatAddress ?? null,
        port: options.heartbeatPort,
        secret,
      },
      startupGraceMs: options.startupGraceMs,
      stateDir: options.stateDir,
      core: { maxFlows: options.maxFlows },
      metrics:
        options.metricsPort === 0 ? null : { host: options.metricsHost, port: options.metricsPort },
      procSysRoot: options.procSysRoot,
      holdUnknownPods: options.holdUnknownPods,
      tunnel: {
        port: options.tunnelPort,
        vni: options.tunnelVni,
        mtu: options.tunnelMtu ?? null,
        whenNoGateway: options.whenNoGateway,
      },
      log,
    });
    return { sources, runtime };
  } catch (error) {
    await sources.close().catch((closeError: unknown) => {
      log.warn({ err: closeError }, 'closing the sources after a failed start failed');
    });
    throw error;
  }
}

/**
 * The heartbeat key shared by the agents of a cluster: from a file (a mounted Secret)
 * or EGRESSGW_HEARTBEAT_SECRET. Never from a flag: flags show in `ps`.
 */
function heartbeatSecret(options: AgentCommandOptions): string {
  if (options.heartbeatSecretFile) {
    try {
      return readFileSync(options.heartbeatSecretFile, 'utf8').trim();
    } catch (error) {
      // A missing key is a deployment mistake (the Secret), not a missing system part.
      throw new AgentError(
        'EGW_AGENT_CONFIG',
        `cannot read the heartbeat key ${options.heartbeatSecretFile}: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }
  const fromEnv = process.env['EGRESSGW_HEARTBEAT_SECRET'];
  if (fromEnv) return fromEnv;
  throw new AgentError(
    'EGW_AGENT_CONFIG',
    'no heartbeat secret: give --heartbeat-secret-file or set EGRESSGW_HEARTBEAT_SECRET',
  );
}
