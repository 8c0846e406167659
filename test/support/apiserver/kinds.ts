/**
 * The resource kinds the test API server serves, and the discovery documents built from
 * them. One storage per (group, resource): every version listed in `versions` reads and
 * writes the same objects, which only differ in `apiVersion` (Antrea's v1alpha2 and
 * v1beta1 share a schema for the fields we use). A kind with `sharedStorage` is a view of
 * another kind's objects (events.k8s.io Events of core Events).
 */
import { eventFromCore, eventToCore } from './event-conversion.ts';
import type { Obj } from './store.ts';

/** The kind whose objects a view kind reads and writes, with the field conversion. */
export interface SharedStorage {
  group: string;
  version: string;
  resource: string;
  kind: string;
  toStored(obj: Obj): Obj;
  fromStored(obj: Obj): Obj;
}

export interface ResourceKind {
  /** '' for the core group. */
  group: string;
  /** Served versions; the first is the preferred (storage) one. */
  versions: string[];
  /** Plural resource name, as in URLs. */
  resource: string;
  kind: string;
  singular: string;
  namespaced: boolean;
  /** Has a /status subresource: writes to the main resource keep the stored status. */
  statusSubresource: boolean;
  /**
   * What create does with a status in the request: 'clear' for CRDs (apiextensions
   * resets it when the status subresource is on), 'keep' for nodes and namespaces,
   * 'pending' for pods (registry/core/pod sets phase Pending).
   */
  statusOnCreate: 'clear' | 'keep' | 'pending' | 'none';
  /**
   * PUT without metadata.resourceVersion is allowed (built-in kinds). Custom resources
   * refuse it with 422 (apiextensions' AllowUnconditionalUpdate is false).
   */
  unconditionalUpdate: boolean;
  /** Field selector labels beyond metadata.name and metadata.namespace. */
  fieldLabels: string[];
  shortNames: string[];
  sharedStorage?: SharedStorage;
}

const VERBS = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];

function crd(
  group: string,
  versions: string[],
  resource: string,
  kind: string,
  namespaced: boolean,
  shortNames: string[],
): ResourceKind {
  return {
    group,
    versions,
    resource,
    kind,
    singular: kind.toLowerCase(),
    namespaced,
    statusSubresource: true,
    statusOnCreate: 'clear',
    unconditionalUpdate: false,
    fieldLabels: [],
    shortNames,
  };
}

const CORE_EVENT_FIELD_LABELS = [
  'involvedObject.kind',
  'involvedObject.namespace',
  'involvedObject.name',
  'involvedObject.uid',
  'involvedObject.apiVersion',
  'involvedObject.resourceVersion',
  'involvedObject.fieldPath',
  'reason',
  'reportingComponent',
  'source',
  'type',
];

export const defaultKinds: ResourceKind[] = [
  {
    group: '',
    versions: ['v1'],
    resource: 'nodes',
    kind: 'Node',
    singular: 'node',
    namespaced: false,
    statusSubresource: true,
    statusOnCreate: 'keep',
    unconditionalUpdate: true,
    fieldLabels: ['spec.unschedulable'],
    shortNames: ['no'],
  },
  {
    group: '',
    versions: ['v1'],
    resource: 'pods',
    kind: 'Pod',
    singular: 'pod',
    namespaced: true,
    statusSubresource: true,
    statusOnCreate: 'pending',
    unconditionalUpdate: true,
    fieldLabels: [
      'spec.nodeName',
      'spec.restartPolicy',
      'spec.schedulerName',
      'spec.serviceAccountName',
      'spec.hostNetwork',
      'status.phase',
      'status.podIP',
      'status.nominatedNodeName',
    ],
    shortNames: ['po'],
  },
  {
    group: '',
    versions: ['v1'],
    resource: 'namespaces',
    kind: 'Namespace',
    singular: 'namespace',
    namespaced: false,
    statusSubresource: true,
    statusOnCreate: 'keep',
    unconditionalUpdate: true,
    fieldLabels: ['status.phase'],
    shortNames: ['ns'],
  },
  {
    group: '',
    versions: ['v1'],
    resource: 'events',
    kind: 'Event',
    singular: 'event',
    namespaced: true,
    statusSubresource: false,
    statusOnCreate: 'none',
    unconditionalUpdate: true,
    fieldLabels: CORE_EVENT_FIELD_LABELS,
    shortNames: ['ev'],
  },
  {
    group: 'events.k8s.io',
    versions: ['v1'],
    resource: 'events',
    kind: 'Event',
    singular: 'event',
    namespaced: true,
    statusSubresource: false,
    statusOnCreate: 'none',
    unconditionalUpdate: true,
    // Selectors apply to the stored (core) form.
    fieldLabels: CORE_EVENT_FIELD_LABELS,
    shortNames: ['ev'],
    sharedStorage: {
      group: '',
      version: 'v1',
      resource: 'events',
      kind: 'Event',
      toStored: eventToCore,
      fromStored: eventFromCore,
    },
  },
  {
    group: 'coordination.k8s.io',
    versions: ['v1'],
    resource: 'leases',
    kind: 'Lease',
    singular: 'lease',
    namespaced: true,
    statusSubresource: false,
    statusOnCreate: 'none',
    unconditionalUpdate: true,
    fieldLabels: [],
    shortNames: [],
  },
  crd('network.deckhouse.io', ['v1alpha1'], 'egressgateways', 'EgressGateway', false, ['egw']),
  crd('network.deckhouse.io', ['v1alpha1'], 'egressgatewaypolicies', 'EgressGatewayPolicy', false, [
    'egwp',
  ]),
  crd('crd.antrea.io', ['v1beta1', 'v1alpha2'], 'egresses', 'Egress', false, ['eg']),
  crd('crd.antrea.io', ['v1beta1', 'v1alpha2'], 'externalippools', 'ExternalIPPool', false, [
    'eip',
    'pool',
  ]),
];

/** `pods` for the core group, `leases.coordination.k8s.io` otherwise: how messages name it. */
export function qualifiedResource(kind: Pick<ResourceKind, 'group' | 'resource'>): string {
  return kind.group === '' ? kind.resource : `${kind.resource}.${kind.group}`;
}

/** Where the objects of a kind live in the store. */
export function storageKey(kind: ResourceKind): string {
  return qualifiedResource(kind.sharedStorage ?? kind);
}

export function apiVersionOf(group: string, version: string): string {
  return group === '' ? version : `${group}/${version}`;
}

/** The /api document. */
export function coreVersions(): unknown {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1' }],
  };
}

function groupDocument(group: string, kinds: ResourceKind[]): unknown {
  const versions: string[] = [];
  for (const k of kinds) {
    for (const v of k.versions) if (!versions.includes(v)) versions.push(v);
  }
  const entries = versions.map((version) => ({ groupVersion: `${group}/${version}`, version }));
  return {
    kind: 'APIGroup',
    apiVersion: 'v1',
    name: group,
    versions: entries,
    preferredVersion: entries[0],
  };
}

/** The /apis document, or /apis/<group> when `group` is given (undefined: no such group). */
export function groupList(kinds: ResourceKind[]): unknown {
  const groups = [...new Set(kinds.filter((k) => k.group !== '').map((k) => k.group))];
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: groups.map((g) => {
      const doc = groupDocument(
        g,
        kinds.filter((k) => k.group === g),
      ) as Record<string, unknown>;
      delete doc['kind'];
      delete doc['apiVersion'];
      return doc;
    }),
  };
}

export function groupInfo(kinds: ResourceKind[], group: string): unknown | undefined {
  const inGroup = kinds.filter((k) => k.group === group);
  return inGroup.length === 0 ? undefined : groupDocument(group, inGroup);
}

/** The APIResourceList of one group version (undefined: not served). */
export function resourceList(
  kinds: ResourceKind[],
  group: string,
  version: string,
): unknown | undefined {
  const served = kinds.filter((k) => k.group === group && k.versions.includes(version));
  if (served.length === 0) return undefined;
  const resources: unknown[] = [];
  for (const k of served) {
    resources.push({
      name: k.resource,
      singularName: k.singular,
      namespaced: k.namespaced,
      kind: k.kind,
      verbs: VERBS,
      shortNames: k.shortNames,
    });
    if (k.statusSubresource) {
      resources.push({
        name: `${k.resource}/status`,
        singularName: '',
        namespaced: k.namespaced,
        kind: k.kind,
        verbs: ['get', 'patch', 'update'],
      });
    }
  }
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: apiVersionOf(group, version),
    resources,
  };
}
