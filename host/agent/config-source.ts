import type { NamespaceInput, NodeInput, PodInput } from '../control/inputs.ts';

/**
 * What the agent needs from its configuration, wherever it comes from (a YAML file or
 * the Kubernetes API): the egress objects as written, and the cluster view that compile()
 * reads besides them.
 */
export interface ConfigSnapshot {
  /** EgressGateway, EgressGatewayPolicy, Egress and ExternalIPPool objects, unvalidated. */
  objects: unknown[];
  nodes: NodeInput[];
  pods: PodInput[];
  namespaces: NamespaceInput[];
}

export interface ConfigSource {
  /** The last good snapshot, or null before the first one. */
  current(): ConfigSnapshot | null;
  /** Called after every change of current(). */
  onChange(listener: () => void): void;
}
