import type { Values } from './values.ts';

/**
 * The command line the DaemonSet gives the agent after its entrypoint
 * (`node dist/host/cli/main.js agent`, Dockerfile). host/cli/ must accept every flag
 * named in `agentFlagNames`; a test can hold the two together once the CLI exists.
 * `$(VAR)` is expanded by the kubelet from the container's env (downward API).
 */
export const agentFlagNames = [
  'node-name',
  'namespace',
  'metrics-host',
  'metrics-port',
  'heartbeat-port',
  'tun-name',
  'max-flows',
  'log-level',
  'proc-sys-root',
  'uplink',
  'announce-interface',
  'cluster-cidr',
  'heartbeat-secret-file',
  'state-dir',
  'tunnel-port',
  'tunnel-vni',
  'when-no-gateway',
] as const;

export type AgentFlag = (typeof agentFlagNames)[number];

export function agentFlags(values: Values): Record<AgentFlag, string> {
  return {
    'node-name': '$(NODE_NAME)',
    namespace: '$(POD_NAMESPACE)',
    // The node's own address (status.hostIP), where kubelet probes and Prometheus reach a
    // hostNetwork pod; not 0.0.0.0, which would also serve on a gateway's uplink.
    'metrics-host': '$(NODE_IP)',
    'metrics-port': `${values.agent.metricsPort}`,
    'heartbeat-port': `${values.agent.heartbeatPort}`,
    'tun-name': values.agent.tunName,
    'max-flows': `${values.agent.maxFlows}`,
    'log-level': values.agent.logLevel,
    // Where sysctls are written: /proc/sys is read-only in the container (workload.ts).
    'proc-sys-root': '/host/proc/sys',
    uplink: values.agent.uplink,
    // Comma-separated lists: the agent splits them (one flag, so one template value).
    'announce-interface': values.agent.announceInterfaces,
    'cluster-cidr': values.agent.clusterCIDRs,
    // Mounted from the egressgw-heartbeat Secret and a host directory (workload.ts).
    'heartbeat-secret-file': '/etc/egressgw/heartbeat/secret',
    'state-dir': '/run/egressgw',
    'tunnel-port': `${values.agent.tunnelPort}`,
    'tunnel-vni': `${values.agent.tunnelVNI}`,
    'when-no-gateway': values.agent.whenNoGateway,
  };
}

export function agentArgs(values: Values): string[] {
  return Object.entries(agentFlags(values)).map(([name, value]) => `--${name}=${value}`);
}
