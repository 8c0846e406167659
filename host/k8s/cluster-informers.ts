/**
 * The informers an egressgw agent runs, as one unit: nodes, pods and namespaces, plus the
 * custom resources of whichever egress APIs the cluster serves (Deckhouse, Antrea, or
 * both), found by discovery at start. Antrea's kinds are read at v1beta1 when served,
 * else at v1alpha2.
 *
 * Discovery runs once: installing a CRD later needs an agent restart to be picked up.
 * A group that is not served gets no informer, so it cannot hold `synced` back.
 */
import {
  ApisApi,
  type KubeConfig,
  type V1Namespace,
  type V1Node,
  type V1Pod,
} from '@kubernetes/client-node';
import { Backoff, sleep } from './backoff.ts';
import { KubeError } from './errors.ts';
import { type InformerOptions, ResilientInformer } from './informer.ts';
import {
  antreaKinds,
  type CustomObject,
  egressGatewayKind,
  egressGatewayPolicyKind,
  namespaceKind,
  nodeKind,
  podKind,
} from './kinds.ts';
import { requestOptions } from './request-options.ts';

export interface ServedEgressApis {
  deckhouse: boolean;
  /** The Antrea version to read, or null when crd.antrea.io is not served. */
  antrea: 'v1beta1' | 'v1alpha2' | null;
}

export interface ClusterInformerOptions {
  /** Applied to every informer. */
  informer?: InformerOptions;
  /** Extra options for the pod informer (e.g. a field selector). */
  pods?: InformerOptions;
  /** Skip discovery and use these (tests, or clusters where discovery is restricted). */
  served?: ServedEgressApis;
}

/** What the bundle needs of each informer, whatever its object type. */
export interface RunningInformer {
  readonly synced: boolean;
  readonly connected: boolean;
  on(verb: 'add' | 'update' | 'delete', handler: (key: string) => void): void;
  start(): void;
  stop(): Promise<void>;
  waitForSync(timeoutMs: number): Promise<void>;
}

export type KindName =
  | 'nodes'
  | 'pods'
  | 'namespaces'
  | 'egressGateways'
  | 'egressGatewayPolicies'
  | 'egresses'
  | 'externalIPPools';

/** Asks the API server which of our API groups it serves; retries until it answers. */
export async function discoverEgressApis(
  kc: KubeConfig,
  signal: AbortSignal,
  timeoutMs = 10_000,
): Promise<ServedEgressApis> {
  const apis = kc.makeApiClient(ApisApi);
  const backoff = new Backoff({ initialMs: 200, maxMs: 10_000 });
  while (!signal.aborted) {
    try {
      const list = await apis.getAPIVersions({}, requestOptions({ timeoutMs }));
      const group = (name: string) => list.groups.find((g) => g.name === name);
      const antrea = group('crd.antrea.io')?.versions.map((v) => v.version) ?? [];
      return {
        deckhouse: group('network.deckhouse.io') !== undefined,
        antrea: antrea.includes('v1beta1')
          ? 'v1beta1'
          : antrea.includes('v1alpha2')
            ? 'v1alpha2'
            : null,
      };
    } catch {
      // Unreachable or failing: the agent cannot work without knowing, so keep asking.
      await sleep(backoff.next(), signal);
    }
  }
  throw new KubeError('EGW_K8S_REQUEST', 'discovery stopped before the API server answered');
}

export class ClusterInformers {
  readonly nodes: ResilientInformer<V1Node>;
  readonly pods: ResilientInformer<V1Pod>;
  readonly namespaces: ResilientInformer<V1Namespace>;
  /** Set after start() when the cluster serves the API. */
  egressGateways: ResilientInformer<CustomObject> | undefined;
  egressGatewayPolicies: ResilientInformer<CustomObject> | undefined;
  egresses: ResilientInformer<CustomObject> | undefined;
  externalIPPools: ResilientInformer<CustomObject> | undefined;
  served: ServedEgressApis | undefined;
  private readonly kc: KubeConfig;
  private readonly opts: ClusterInformerOptions;
  private readonly stopSignal = new AbortController();
  private readonly changeHandlers: ((kind: KindName, key: string) => void)[] = [];

  constructor(kc: KubeConfig, opts: ClusterInformerOptions = {}) {
    this.kc = kc;
    this.opts = opts;
    const base = opts.informer ?? {};
    this.nodes = new ResilientInformer(kc, nodeKind, base);
    this.pods = new ResilientInformer(kc, podKind, { ...base, ...opts.pods });
    this.namespaces = new ResilientInformer(kc, namespaceKind, base);
  }

  /** Calls `handler(kind, key)` on every add, update and delete of any kind. */
  onChange(handler: (kind: KindName, key: string) => void): void {
    this.changeHandlers.push(handler);
  }

  /** Every informer that runs (after start(): including the custom resources). */
  all(): [KindName, RunningInformer][] {
    const out: [KindName, RunningInformer][] = [
      ['nodes', this.nodes],
      ['pods', this.pods],
      ['namespaces', this.namespaces],
    ];
    if (this.egressGateways) out.push(['egressGateways', this.egressGateways]);
    if (this.egressGatewayPolicies) out.push(['egressGatewayPolicies', this.egressGatewayPolicies]);
    if (this.egresses) out.push(['egresses', this.egresses]);
    if (this.externalIPPools) out.push(['externalIPPools', this.externalIPPools]);
    return out;
  }

  /** Discovers the served APIs, then starts every informer. */
  async start(): Promise<void> {
    const served = this.opts.served ?? (await discoverEgressApis(this.kc, this.stopSignal.signal));
    this.served = served;
    const base = this.opts.informer ?? {};
    if (served.deckhouse) {
      this.egressGateways = new ResilientInformer(this.kc, egressGatewayKind, base);
      this.egressGatewayPolicies = new ResilientInformer(this.kc, egressGatewayPolicyKind, base);
    }
    if (served.antrea) {
      const kinds = antreaKinds(served.antrea);
      this.egresses = new ResilientInformer(this.kc, kinds.egress, base);
      this.externalIPPools = new ResilientInformer(this.kc, kinds.externalIPPool, base);
    }
    for (const [name, inf] of this.all()) {
      for (const verb of ['add', 'update', 'delete'] as const) {
        inf.on(verb, (key) => {
          for (const h of this.changeHandlers) h(name, key);
        });
      }
      inf.start();
    }
  }

  get synced(): boolean {
    return this.served !== undefined && this.all().every(([, inf]) => inf.synced);
  }

  /** Every informer currently reaches the API server. */
  get connected(): boolean {
    return this.served !== undefined && this.all().every(([, inf]) => inf.connected);
  }

  async waitForSync(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.served === undefined) {
      if (Date.now() > deadline)
        throw new KubeError('EGW_SYNC_TIMEOUT', 'API discovery did not finish in time');
      await sleep(20, this.stopSignal.signal);
      if (this.stopSignal.signal.aborted)
        throw new KubeError('EGW_SYNC_TIMEOUT', 'stopped before syncing');
    }
    await Promise.all(
      this.all().map(([, inf]) => inf.waitForSync(Math.max(0, deadline - Date.now()))),
    );
  }

  async stop(): Promise<void> {
    this.stopSignal.abort();
    await Promise.all(this.all().map(([, inf]) => inf.stop()));
  }
}
