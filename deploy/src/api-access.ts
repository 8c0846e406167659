/**
 * Every Kubernetes API call the agent makes, as one list: the RBAC rules are generated
 * from it (rbac.ts), and host/k8s/ can be checked against it (each request the client
 * code issues must be covered by an entry here). Least privilege: nothing is granted that
 * is not listed, and each entry says why the agent needs it.
 *
 * Discovery (GET /api, /apis) needs no rule: the built-in system:discovery ClusterRole
 * grants it to every authenticated client.
 */

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch';

export interface ApiAccess {
  /** API group, '' for the core group. */
  group: string;
  /** Resource (plural), with `/subresource` where the call targets one, e.g. `egresses/status`. */
  resource: string;
  verbs: readonly Verb[];
  /** `cluster`: any namespace or cluster-scoped (ClusterRole); `own`: the agent's namespace (Role). */
  scope: 'cluster' | 'own';
  why: string;
}

const readWatch: readonly Verb[] = ['get', 'list', 'watch'];
const writeStatus: readonly Verb[] = ['patch', 'update'];

export const agentApiAccess: readonly ApiAccess[] = [
  {
    group: '',
    resource: 'nodes',
    verbs: [...readWatch, 'patch'],
    scope: 'cluster',
    why:
      'node suitability (Ready, spec.unschedulable, labels for nodeSelector) and addresses; ' +
      'patch: each agent publishes its own interfaces in the egressgw.io/interfaces annotation',
  },
  {
    group: '',
    resource: 'pods',
    verbs: readWatch,
    scope: 'cluster',
    why: 'policy selectors pick source pods; the agent pods’ readiness gates gateway candidates',
  },
  {
    group: '',
    resource: 'namespaces',
    verbs: readWatch,
    scope: 'cluster',
    why: 'namespace selectors (Antrea appliedTo, io.kubernetes.pod.namespace)',
  },
  {
    group: 'network.deckhouse.io',
    resource: 'egressgateways',
    verbs: readWatch,
    scope: 'cluster',
    why: 'Deckhouse API: gateway groups',
  },
  {
    group: 'network.deckhouse.io',
    resource: 'egressgatewaypolicies',
    verbs: readWatch,
    scope: 'cluster',
    why: 'Deckhouse API: which pods leave through which gateway',
  },
  {
    group: 'crd.antrea.io',
    resource: 'egresses',
    verbs: readWatch,
    scope: 'cluster',
    why: 'Antrea API: which pods leave through which egress IP',
  },
  {
    group: 'crd.antrea.io',
    resource: 'externalippools',
    verbs: readWatch,
    scope: 'cluster',
    why: 'Antrea API: egress IP pools and their nodes',
  },
  {
    group: 'network.deckhouse.io',
    resource: 'egressgateways/status',
    verbs: writeStatus,
    scope: 'cluster',
    why: 'status: active node, ready nodes, conditions; connections (the active node)',
  },
  {
    group: 'network.deckhouse.io',
    resource: 'egressgatewaypolicies/status',
    verbs: writeStatus,
    scope: 'cluster',
    why: 'status: conditions',
  },
  {
    group: 'crd.antrea.io',
    resource: 'egresses/status',
    verbs: writeStatus,
    scope: 'cluster',
    why: 'status: egressNode, egressIP, conditions; connections (the active node)',
  },
  {
    group: 'crd.antrea.io',
    resource: 'externalippools/status',
    verbs: writeStatus,
    scope: 'cluster',
    why: 'status: usage',
  },
  {
    group: '',
    resource: 'events',
    verbs: ['create', 'patch'],
    scope: 'cluster',
    why: 'events on the objects it acts for (cluster-scoped objects record them in default)',
  },
  {
    group: 'events.k8s.io',
    resource: 'events',
    verbs: ['create', 'patch'],
    scope: 'cluster',
    why: 'the same events through the events.k8s.io/v1 API',
  },
  {
    group: 'coordination.k8s.io',
    resource: 'leases',
    verbs: ['get', 'create', 'update'],
    scope: 'own',
    why: 'one Lease per gateway group fences the active role',
  },
];

/** One request as the apiserver's authorizer sees it. */
export interface ApiRequest {
  group: string;
  /** Plural resource, without the subresource. */
  resource: string;
  subresource?: string;
  verb: Verb;
  /** The request's namespace; undefined for cluster-scoped objects and all-namespace lists. */
  namespace?: string;
}

/**
 * Whether the access list grants a request the agent makes from `ownNamespace`: for
 * checking a recorded trace of the k8s layer's requests (e.g. from the in-process API
 * server in test/support/apiserver/) against what RBAC will allow.
 */
export function grants(
  access: readonly ApiAccess[],
  request: ApiRequest,
  ownNamespace: string,
): boolean {
  const resource =
    request.subresource === undefined
      ? request.resource
      : `${request.resource}/${request.subresource}`;
  return access.some(
    (entry) =>
      entry.group === request.group &&
      entry.resource === resource &&
      entry.verbs.includes(request.verb) &&
      (entry.scope === 'cluster' || request.namespace === ownNamespace),
  );
}
