import type { NamespaceInput, PodInput } from './inputs.ts';

/**
 * Kubernetes label selectors (metav1.LabelSelector), and the two ways the APIs apply them
 * to pods.
 *
 * Matching follows apimachinery's labels.Selector: every matchLabels pair and every
 * matchExpressions requirement must hold; In needs the key present with one of the values;
 * NotIn holds when the key is absent or its value is not listed; Exists and DoesNotExist
 * test presence only. An empty selector (no labels, no expressions) matches everything.
 * Requirements are assumed valid (api/semantic.ts rejects In/NotIn without values).
 */

export interface LabelRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelRequirement[];
}

type Labels = Readonly<Record<string, string>>;

function has(labels: Labels, key: string): boolean {
  return Object.hasOwn(labels, key);
}

function requirementHolds(requirement: LabelRequirement, labels: Labels): boolean {
  const values = requirement.values ?? [];
  switch (requirement.operator) {
    case 'In':
      return has(labels, requirement.key) && values.includes(labels[requirement.key]!);
    case 'NotIn':
      return !has(labels, requirement.key) || !values.includes(labels[requirement.key]!);
    case 'Exists':
      return has(labels, requirement.key);
    case 'DoesNotExist':
      return !has(labels, requirement.key);
  }
}

export function matchesSelector(selector: LabelSelector, labels: Labels): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (!has(labels, key) || labels[key] !== value) return false;
  }
  return (selector.matchExpressions ?? []).every((r) => requirementHolds(r, labels));
}

/** A plain map selector (EgressGateway.spec.nodeSelector): every pair must match. */
export function matchesLabelMap(selector: Labels | undefined, labels: Labels): boolean {
  return matchesSelector({ matchLabels: { ...selector } }, labels);
}

/** Cilium's pseudo-label on every pod: its namespace. Deckhouse selects namespaces by it. */
export const podNamespaceLabel = 'io.kubernetes.pod.namespace';

/** Set on every namespace by the API server (1.21+) to the namespace's name. */
export const namespaceNameLabel = 'kubernetes.io/metadata.name';

/**
 * Deckhouse podSelector: the pod's labels plus the pseudo-label
 * io.kubernetes.pod.namespace=<namespace>, which wins over a pod label of that name
 * (Cilium derives it from the pod, so a pod cannot claim another namespace).
 */
export function deckhouseSelectsPod(selector: LabelSelector, pod: PodInput): boolean {
  return matchesSelector(selector, { ...pod.labels, [podNamespaceLabel]: pod.namespace });
}

/** The labels a namespaceSelector sees: the namespace's own, with its name label forced. */
export function namespaceLabels(
  name: string,
  namespaces: ReadonlyMap<string, NamespaceInput>,
): Record<string, string> {
  return { ...namespaces.get(name)?.labels, [namespaceNameLabel]: name };
}

export interface AppliedTo {
  namespaceSelector?: LabelSelector;
  podSelector?: LabelSelector;
}

/**
 * Antrea appliedTo: podSelector alone selects pods in every namespace; namespaceSelector
 * alone selects every pod of the matching namespaces; both select matching pods in
 * matching namespaces; neither selects nothing (the seed: "空的appliedTo将不指定任何Pods").
 */
export function antreaSelectsPod(
  appliedTo: AppliedTo,
  pod: PodInput,
  namespaces: ReadonlyMap<string, NamespaceInput>,
): boolean {
  const { namespaceSelector, podSelector } = appliedTo;
  if (namespaceSelector === undefined && podSelector === undefined) return false;
  if (podSelector !== undefined && !matchesSelector(podSelector, pod.labels)) return false;
  if (
    namespaceSelector !== undefined &&
    !matchesSelector(namespaceSelector, namespaceLabels(pod.namespace, namespaces))
  ) {
    return false;
  }
  return true;
}
