import type { PodInput } from '../control/inputs.ts';

/**
 * The labels of the egressgw agent's pods (the DaemonSet's pod template, deploy/src/
 * workload.ts; a test holds the two together).
 */
export const AGENT_POD_LABELS: Readonly<Record<string, string>> = {
  'app.kubernetes.io/name': 'egressgw',
  'app.kubernetes.io/component': 'agent',
};

/**
 * The nodes whose egressgw agent pod is Ready, sorted, from the cluster's own view: the
 * same on every agent (up to watch lag), unlike heartbeats, which an agent exchanges only
 * with the nodes it shares a gateway or steering with. The status writer is chosen from
 * these (kube-status.ts), so that a cluster has one writer, not one per node that hears no
 * one else.
 */
export function readyAgentNodes(pods: readonly PodInput[], namespace: string): string[] {
  const nodes = new Set<string>();
  for (const pod of pods) {
    if (pod.namespace !== namespace || !pod.ready || pod.nodeName === null) continue;
    if (pod.phase !== 'Running') continue;
    const labelled = Object.entries(AGENT_POD_LABELS).every(
      ([key, value]) => pod.labels[key] === value,
    );
    if (labelled) nodes.add(pod.nodeName);
  }
  return [...nodes].sort();
}
