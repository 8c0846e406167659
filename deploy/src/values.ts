import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * The settings a user may change, with their defaults: the plain manifests are the
 * workload built from `defaultValues`; the Helm chart's values.yaml is `defaultValues`
 * with `valueDocs` as comments, and its templates read these same paths.
 */
export interface Toleration {
  key?: string;
  operator?: 'Exists' | 'Equal';
  value?: string;
  effect?: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
  tolerationSeconds?: number;
}

export interface Values {
  image: {
    repository: string;
    tag: string;
    pullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  };
  agent: {
    logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
    /** TCP port of /metrics, /healthz and /readyz, on every node (hostNetwork). */
    metricsPort: number;
    /** UDP port of the election heartbeats between gateway nodes. */
    heartbeatPort: number;
    tunName: string;
    /** Connection-tracking capacity per node; a power of two. */
    maxFlows: number;
    /** Gateway nodes' interface where replies arrive and VIPs are announced. */
    uplink: string;
    /** More interfaces to announce VIPs on (comma-separated; may be empty). */
    announceInterfaces: string;
    /** Pod, service and node networks, never translated (comma-separated CIDRs). */
    clusterCIDRs: string;
    /** UDP port of the VXLAN tunnel that carries selected pods' traffic to gateways. */
    tunnelPort: number;
    tunnelVNI: number;
    /** What happens to a gateway's selected traffic while it has no suitable node. */
    whenNoGateway: 'drop' | 'node-address';
  };
  heartbeat: {
    /**
     * Helm only: the chart makes the Secret with a random key on install and keeps that key
     * on upgrades. false: the Secret `secretName` is made by hand (as with the plain
     * manifests) or by another tool.
     */
    create: boolean;
    /** The Secret holding the agents' shared heartbeat key under `secret`. */
    secretName: string;
  };
  crds: {
    /**
     * Helm only: install the crd.antrea.io CRDs (Egress, ExternalIPPool). false where
     * Antrea itself is installed: it owns CRDs of the same names, which the agent reads.
     */
    antrea: boolean;
  };
  resources: {
    requests: { cpu: string; memory: string };
    limits: { memory: string };
  };
  nodeSelector: Record<string, string>;
  tolerations: Toleration[];
  priorityClassName: string;
}

const packageJson = JSON.parse(
  readFileSync(resolve(import.meta.dirname, '../../package.json'), 'utf8'),
) as { version: string };

/** The version the chart and image carry: package.json's. */
export const appVersion: string = packageJson.version;

/** The namespace of the plain manifests; the chart installs into the release's namespace. */
export const defaultNamespace = 'egressgw';

export const defaultValues: Values = {
  image: {
    repository: 'ghcr.io/egressgw/egressgw',
    tag: appVersion,
    pullPolicy: 'IfNotPresent',
  },
  agent: {
    logLevel: 'info',
    metricsPort: 9471,
    heartbeatPort: 9472,
    tunName: 'egw0',
    maxFlows: 262_144,
    uplink: 'eth1',
    announceInterfaces: '',
    // Kubernetes' kubeadm defaults (Flannel's pod network, the service network): set the
    // cluster's own, and add the node network.
    clusterCIDRs: '10.244.0.0/16,10.96.0.0/12',
    tunnelPort: 4789,
    tunnelVNI: 7788,
    whenNoGateway: 'drop',
  },
  heartbeat: { create: true, secretName: 'egressgw-heartbeat' },
  crds: { antrea: true },
  // No CPU limit: CFS throttling would cap the dataplane's packet rate. Memory: the core's
  // flow table is ≤ 64 bytes per flow (16 MiB at the default capacity) plus Node's heap.
  resources: {
    requests: { cpu: '100m', memory: '128Mi' },
    limits: { memory: '512Mi' },
  },
  nodeSelector: { 'kubernetes.io/os': 'linux' },
  // Every node steers its pods' traffic, and gateway nodes are often tainted: run everywhere.
  tolerations: [{ operator: 'Exists' }],
  priorityClassName: 'system-node-critical',
};

/**
 * Values the templates take whole (toYaml) rather than field by field: maps and lists
 * whose keys the user chooses.
 */
export const wholeValuePaths: readonly string[] = ['resources', 'nodeSelector', 'tolerations'];

/** One line of documentation per value path, written into values.yaml. */
export const valueDocs: Readonly<Record<string, string>> = {
  image: 'The agent image (built by the Dockerfile at the repository root).',
  'image.pullPolicy': 'Always, IfNotPresent or Never.',
  agent: 'Agent settings, passed as command-line flags.',
  'agent.logLevel': 'fatal, error, warn, info, debug or trace.',
  'agent.metricsPort':
    'TCP port on every node for /metrics, /healthz and /readyz (the pod uses the host network).',
  'agent.heartbeatPort': 'UDP port on every gateway node for election heartbeats.',
  'agent.tunName': 'Name of the TUN device the dataplane creates on gateway nodes.',
  'agent.maxFlows': 'Connection-tracking capacity per node; a power of two.',
  'agent.uplink':
    "Gateway nodes' interface where replies arrive and VIPs are announced (the seed's eth1).",
  'agent.announceInterfaces':
    'More interfaces to answer ARP for VIPs on, comma-separated, e.g. the node network.',
  'agent.clusterCIDRs':
    'Pod, service and node networks of the cluster, comma-separated: never translated.',
  'agent.tunnelPort':
    'UDP port of the VXLAN tunnel between nodes (steering); open it between all nodes.',
  'agent.tunnelVNI': 'VXLAN network identifier of the steering tunnel.',
  'agent.whenNoGateway':
    "drop (default): a gateway without a suitable node drops its pods' selected traffic; node-address: it leaves with the node's address.",
  heartbeat: "The key that signs the agents' heartbeats, in a Secret under the key `secret`.",
  'heartbeat.create':
    'Generate the Secret (48 random characters) on install and keep its key on upgrades; false: create it yourself (needed where templates are rendered without cluster access, e.g. helm template).',
  'heartbeat.secretName': 'Name of the Secret, made by the chart or by you.',
  crds: 'CRDs of the egress APIs. The Deckhouse ones are always installed (crds/).',
  'crds.antrea':
    'Install the crd.antrea.io CRDs (Egress, ExternalIPPool); false where Antrea is installed, whose own CRDs the agent then reads.',
  resources: 'No CPU limit on purpose: throttling caps the packet rate.',
  nodeSelector:
    'Nodes the agent runs on. It must run on gateway nodes and on nodes with selected pods.',
  tolerations: 'By default the agent tolerates every taint, like other node networking agents.',
  priorityClassName: 'Node networking is node-critical.',
};
