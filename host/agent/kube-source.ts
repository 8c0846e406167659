/**
 * The agent's configuration in Kubernetes mode: a ConfigSource over the informer caches
 * (k8s/cluster-informers.ts).
 *
 * - current() is null until every informer has listed once (a partial view would make
 *   compile() report objects as broken that are merely not seen yet), then the snapshot
 *   of the caches as they are.
 * - The caches are never cleared (k8s/informer.ts): while the API server is unreachable
 *   the snapshot stays the last one seen, and the dataplane keeps working on it.
 * - Listeners are called once per burst of changes: `debounceMs` after the first change,
 *   whatever else changed meanwhile (a relist or a rollout changes hundreds of pods within
 *   milliseconds; one reconcile covers them all, and a steady stream of changes still
 *   gets one every `debounceMs` instead of being put off for as long as it lasts).
 *
 * Egress objects pass through unvalidated, as written (compile() checks them and reports
 * on their status). Nodes, pods and namespaces are read by config/core-objects.ts, the
 * same reader file mode uses; one whose fields have the wrong shape is left out with a
 * logged warning, as in file mode. A node's interfaces come from its
 * `egressgw.io/interfaces` annotation (node-interfaces-annotation.ts).
 */
import type { KubernetesObject, V1Node } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Issue } from '../api/issue.ts';
import { type CoreKind, readCoreObject } from '../config/core-objects.ts';
import type { NamespaceInput, NodeInput, PodInput } from '../control/inputs.ts';
import type { ClusterInformers } from '../k8s/cluster-informers.ts';
import type { ResilientInformer } from '../k8s/informer.ts';
import { apiVersionOf, type CustomObject, keyOf } from '../k8s/kinds.ts';
import type { ConfigSnapshot, ConfigSource } from './config-source.ts';
import { interfacesAnnotationOf, parseInterfacesAnnotation } from './node-interfaces-annotation.ts';

export interface KubeSourceOptions {
  log: Pick<Logger, 'warn'>;
  /** How long after the first change of a burst the listeners are told (default 50). */
  debounceMs?: number;
}

type Fields = Record<string, unknown>;

/** What one cached object reads as; kept per object (the cache replaces it on change). */
interface Converted<T> {
  input: T | null;
  /** Why the object is left out or partly unknown; null when nothing is wrong. */
  problem: string | null;
}

export class KubeSource implements ConfigSource {
  readonly #informers: ClusterInformers;
  readonly #log: Pick<Logger, 'warn'>;
  readonly #debounceMs: number;
  readonly #listeners: (() => void)[] = [];
  readonly #converted = new WeakMap<KubernetesObject, Converted<unknown>>();
  /** Problems already logged, by kind/key: logged again only when they change. */
  #reported = new Map<string, string>();
  #snapshot: ConfigSnapshot | null = null;
  #stale = true;
  /** A change happened that listeners have not been told of (the first sync counts). */
  #pending = true;
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;

  constructor(informers: ClusterInformers, options: KubeSourceOptions) {
    this.#informers = informers;
    this.#log = options.log;
    this.#debounceMs = options.debounceMs ?? 50;
    informers.onChange(() => {
      this.#stale = true;
      this.#pending = true;
      this.#arm();
    });
    this.#arm();
  }

  current(): ConfigSnapshot | null {
    if (!this.#informers.synced) return this.#snapshot;
    if (this.#stale || this.#snapshot === null) {
      this.#snapshot = this.#build();
      this.#stale = false;
    }
    return this.#snapshot;
  }

  onChange(listener: () => void): void {
    this.#listeners.push(listener);
  }

  /** Stops notifying; the informers are the caller's to stop. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #arm(): void {
    if (this.#stopped || this.#timer !== null) return;
    this.#timer = setTimeout(() => this.#flush(), this.#debounceMs);
    this.#timer.unref();
  }

  #flush(): void {
    this.#timer = null;
    if (!this.#pending) return;
    // Not synced yet: look again after another period (an informer that lists nothing
    // reports no change, so its sync would otherwise go unnoticed).
    if (!this.#informers.synced) {
      this.#arm();
      return;
    }
    this.#pending = false;
    for (const listener of this.#listeners) listener();
  }

  #build(): ConfigSnapshot {
    const informers = this.#informers;
    const reported = new Map<string, string>();
    const objects: unknown[] = [];
    for (const informer of [
      informers.egressGateways,
      informers.egressGatewayPolicies,
      informers.egresses,
      informers.externalIPPools,
    ]) {
      if (informer !== undefined) objects.push(...egressObjects(informer));
    }
    const snapshot: ConfigSnapshot = {
      objects,
      nodes: this.#inputs<NodeInput>(informers.nodes, 'Node', reported, (n) => this.#readNode(n)),
      pods: this.#inputs<PodInput>(informers.pods, 'Pod', reported),
      namespaces: this.#inputs<NamespaceInput>(informers.namespaces, 'Namespace', reported),
    };
    this.#reported = reported;
    return snapshot;
  }

  #inputs<T extends NamedInput>(
    informer: { list(): KubernetesObject[] },
    kind: CoreKind,
    reported: Map<string, string>,
    read: (obj: KubernetesObject) => Converted<T> = (obj) =>
      fromIssues<T>(readCoreObject(kind, obj as Fields)),
  ): T[] {
    const inputs: T[] = [];
    for (const obj of informer.list()) {
      let converted = this.#converted.get(obj);
      if (converted === undefined) {
        converted = read(obj);
        this.#converted.set(obj, converted);
      }
      if (converted.input !== null) inputs.push(converted.input as T);
      if (converted.problem === null) continue;
      const id = `${kind}/${keyOf(obj)}`;
      reported.set(id, converted.problem);
      if (this.#reported.get(id) !== converted.problem) {
        this.#log.warn(
          { kind, name: keyOf(obj), problem: converted.problem },
          converted.input === null
            ? `${kind} ${keyOf(obj)} is left out of the configuration`
            : `${kind} ${keyOf(obj)} is read with a problem`,
        );
      }
    }
    return inputs.sort(compareKeys);
  }

  #readNode(obj: KubernetesObject): Converted<NodeInput> {
    const read = fromIssues<NodeInput>(readCoreObject('Node', obj as Fields));
    if (read.input === null) return read;
    const annotation = interfacesAnnotationOf(obj as V1Node);
    if (annotation === undefined) return read;
    const parsed = parseInterfacesAnnotation(annotation);
    if (parsed.ok) return { ...read, input: { ...read.input, interfaces: parsed.interfaces } };
    const problem = `annotation egressgw.io/interfaces ignored: ${parsed.reason}`;
    return { input: read.input, problem: read.problem ? `${read.problem}; ${problem}` : problem };
  }
}

interface NamedInput {
  name: string;
  namespace?: string;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** By namespace, then name (UTF-16 code units): the same order on every agent. */
function compareKeys(a: NamedInput, b: NamedInput): number {
  return compareText(a.namespace ?? '', b.namespace ?? '') || compareText(a.name, b.name);
}

function fromIssues<T>(read: { input: unknown; issues: Issue[] }): Converted<T> {
  // Warnings (a node without a Ready condition) are the API server's defaults applied,
  // not worth a log line on every agent; errors leave the object out and are logged.
  const errors = read.issues.filter((i) => i.severity === 'error');
  return {
    input: read.input as T | null,
    problem: errors.length === 0 ? null : errors.map((i) => i.message).join('; '),
  };
}

/**
 * The custom objects as cached. List items of a real API server may lack apiVersion and
 * kind (the list carries them), and compile() sorts objects by those: fill them in.
 */
function egressObjects(informer: ResilientInformer<CustomObject>): unknown[] {
  const objects = informer.list().map((obj) =>
    obj.apiVersion !== undefined && obj.kind !== undefined
      ? obj
      : {
          ...obj,
          apiVersion: obj.apiVersion ?? apiVersionOf(informer.kind),
          kind: obj.kind ?? informer.kind.kind,
        },
  );
  return objects.sort((a, b) => compareText(keyOf(a), keyOf(b)));
}
