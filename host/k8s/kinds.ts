/**
 * The kinds egressgw reads from the API server, with what the informers need to list
 * and watch each: the URL and a list call on the matching generated client.
 *
 * Cached objects are in wire form (the JSON the server sent, for list and watch alike):
 * date-time fields are RFC 3339 strings even where the client's model types say Date.
 */
import {
  type ConfigurationOptions,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesObject,
  type V1Lease,
  type V1Namespace,
  type V1Node,
  type V1Pod,
} from '@kubernetes/client-node';

/** A custom resource as stored: spec and status are left to the code that reads them. */
export interface CustomObject<Spec = Record<string, unknown>, Status = Record<string, unknown>>
  extends KubernetesObject {
  spec?: Spec;
  status?: Status;
}

export interface ListParams {
  labelSelector?: string;
  fieldSelector?: string;
}

export interface ApiClients {
  core: CoreV1Api;
  coordination: CoordinationV1Api;
  custom: CustomObjectsApi;
}

export function makeClients(kc: KubeConfig): ApiClients {
  return {
    core: kc.makeApiClient(CoreV1Api),
    coordination: kc.makeApiClient(CoordinationV1Api),
    custom: kc.makeApiClient(CustomObjectsApi),
  };
}

type ListCall = (
  c: ApiClients,
  namespace: string | undefined,
  p: ListParams,
  o: ConfigurationOptions,
) => Promise<unknown>;

/** `T` is the object type the cache holds; it only types the caller's view. */
export interface KindRef<T extends KubernetesObject> {
  /** '' for the core group. */
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
  list: ListCall;
  /** Phantom field carrying T; never set. */
  readonly _type?: T;
}

function crd<T extends KubernetesObject = CustomObject>(
  group: string,
  version: string,
  plural: string,
  kind: string,
): KindRef<T> {
  return {
    group,
    version,
    plural,
    kind,
    namespaced: false,
    list: (c, _ns, p, o) => c.custom.listClusterCustomObject({ group, version, plural, ...p }, o),
  };
}

export const nodeKind: KindRef<V1Node> = {
  group: '',
  version: 'v1',
  plural: 'nodes',
  kind: 'Node',
  namespaced: false,
  list: (c, _ns, p, o) => c.core.listNode(p, o),
};

export const podKind: KindRef<V1Pod> = {
  group: '',
  version: 'v1',
  plural: 'pods',
  kind: 'Pod',
  namespaced: true,
  list: (c, ns, p, o) =>
    ns === undefined
      ? c.core.listPodForAllNamespaces(p, o)
      : c.core.listNamespacedPod({ namespace: ns, ...p }, o),
};

export const namespaceKind: KindRef<V1Namespace> = {
  group: '',
  version: 'v1',
  plural: 'namespaces',
  kind: 'Namespace',
  namespaced: false,
  list: (c, _ns, p, o) => c.core.listNamespace(p, o),
};

export const leaseKind: KindRef<V1Lease> = {
  group: 'coordination.k8s.io',
  version: 'v1',
  plural: 'leases',
  kind: 'Lease',
  namespaced: true,
  list: (c, ns, p, o) =>
    ns === undefined
      ? c.coordination.listLeaseForAllNamespaces(p, o)
      : c.coordination.listNamespacedLease({ namespace: ns, ...p }, o),
};

export const egressGatewayKind = crd(
  'network.deckhouse.io',
  'v1alpha1',
  'egressgateways',
  'EgressGateway',
);
export const egressGatewayPolicyKind = crd(
  'network.deckhouse.io',
  'v1alpha1',
  'egressgatewaypolicies',
  'EgressGatewayPolicy',
);
/** Antrea Egress; `version` may be switched to v1alpha2 with antreaKinds(). */
export const antreaEgressKind = crd('crd.antrea.io', 'v1beta1', 'egresses', 'Egress');
export const externalIPPoolKind = crd(
  'crd.antrea.io',
  'v1beta1',
  'externalippools',
  'ExternalIPPool',
);

/** The Antrea kinds at another served version (clusters with only v1alpha2 installed). */
export function antreaKinds(version: 'v1alpha2' | 'v1beta1'): {
  egress: KindRef<CustomObject>;
  externalIPPool: KindRef<CustomObject>;
} {
  return {
    egress: crd('crd.antrea.io', version, 'egresses', 'Egress'),
    externalIPPool: crd('crd.antrea.io', version, 'externalippools', 'ExternalIPPool'),
  };
}

/** A CRD of the same shape as ours at a group/version the caller names (for tests, too). */
export function customKind<T extends KubernetesObject = CustomObject>(
  group: string,
  version: string,
  plural: string,
  kind: string,
): KindRef<T> {
  return crd<T>(group, version, plural, kind);
}

export function apiVersionOf(ref: KindRef<KubernetesObject>): string {
  return ref.group === '' ? ref.version : `${ref.group}/${ref.version}`;
}

/** The collection URL path, e.g. /api/v1/namespaces/default/pods. */
export function collectionPath(ref: KindRef<KubernetesObject>, namespace?: string): string {
  const base = ref.group === '' ? `/api/${ref.version}` : `/apis/${ref.group}/${ref.version}`;
  const ns =
    ref.namespaced && namespace !== undefined ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${base}${ns}/${ref.plural}`;
}

/** The cache key: `namespace/name` for namespaced objects, `name` otherwise (client-go's). */
export function keyOf(obj: KubernetesObject): string {
  const ns = obj.metadata?.namespace;
  const name = obj.metadata?.name ?? '';
  return ns ? `${ns}/${name}` : name;
}
