/**
 * The verbs on one resource, with the apiserver's rules: preconditions and conflicts,
 * the status subresource split, generation, uid and timestamps, field managers. HTTP and
 * watch streaming live in server.ts; this file only turns requests into store writes.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { ApiError, badRequest, invalid, objectRef } from './api-error.ts';
import { apiVersionOf, qualifiedResource, type ResourceKind, storageKey } from './kinds.ts';
import { nowRfc3339, recordUpdate, type Scope, serverSideApply } from './managed-fields.ts';
import { clone, deepEqual, isMap, jsonPatch, mergePatch, strategicMergePatch } from './patch.ts';
import { parseFieldSelector, parseLabelSelector } from './selectors.ts';
import { metaOf, type Obj, type ObjectStore } from './store.ts';

/** What identifies the target of one request. */
export interface Target {
  kind: ResourceKind;
  /** The version the client spoke; objects go out with this apiVersion. */
  version: string;
  /** '' for cluster-scoped kinds and for all-namespace lists. */
  namespace: string;
}

export interface WriteOptions {
  manager: string;
  dryRun: boolean;
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function withType(obj: Obj, apiVersion: string, kind: string): Obj {
  const out: Obj = { apiVersion, kind };
  for (const [k, v] of Object.entries(obj)) if (k !== 'apiVersion' && k !== 'kind') out[k] = v;
  return out;
}

/** A stored object as the client sees it at the version it asked for. */
export function present(obj: Obj, target: Pick<Target, 'kind' | 'version'>): Obj {
  const view = target.kind.sharedStorage ? target.kind.sharedStorage.fromStored(obj) : obj;
  return withType(view, apiVersionOf(target.kind.group, target.version), target.kind.kind);
}

/**
 * A client's object in the form the store keeps: the storage version, converted for
 * view kinds. Idempotent.
 */
export function toStored(obj: Obj, kind: ResourceKind): Obj {
  const shared = kind.sharedStorage;
  if (shared) {
    return withType(shared.toStored(obj), apiVersionOf(shared.group, shared.version), shared.kind);
  }
  return withType(obj, apiVersionOf(kind.group, kind.versions[0]!), kind.kind);
}

function notFound(kind: ResourceKind, name: string): ApiError {
  return new ApiError(404, 'NotFound', `${objectRef(qualifiedResource(kind), name)} not found`, {
    name,
    group: kind.group,
    kind: kind.resource,
  });
}

function conflict(kind: ResourceKind, name: string): ApiError {
  return new ApiError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${objectRef(qualifiedResource(kind), name)}: the object has been modified; please apply your changes to the latest version and try again`,
    { name, group: kind.group, kind: kind.resource },
  );
}

/** Everything but metadata and status: a change here bumps metadata.generation. */
function specPart(obj: Obj): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries(obj)) {
    if (k !== 'metadata' && k !== 'status' && k !== 'apiVersion' && k !== 'kind') out[k] = v;
  }
  return out;
}

/** Compares two stored states, ignoring what every write touches anyway. */
function sameContent(a: Obj, b: Obj): boolean {
  const strip = (o: Obj): Obj => {
    const c = clone(o);
    const m = metaOf(c);
    delete m['resourceVersion'];
    const mf = m['managedFields'];
    if (Array.isArray(mf)) for (const e of mf) if (isMap(e)) delete e['time'];
    return c;
  };
  return deepEqual(strip(a), strip(b));
}

function checkIdentity(body: unknown, target: Target, name: string | undefined): Obj {
  if (!isMap(body)) throw badRequest('the request body must be a JSON object');
  const apiVersion = body['apiVersion'];
  const expected = apiVersionOf(target.kind.group, target.version);
  if (apiVersion !== undefined && apiVersion !== expected) {
    throw badRequest(
      `the API version in the data (${String(apiVersion)}) does not match the expected API version (${expected})`,
    );
  }
  if (body['kind'] !== undefined && body['kind'] !== target.kind.kind) {
    throw badRequest(
      `the kind in the data (${String(body['kind'])}) does not match the expected kind (${target.kind.kind})`,
    );
  }
  const meta = body['metadata'];
  if (meta !== undefined && !isMap(meta)) throw badRequest('metadata must be an object');
  const m = (meta ?? {}) as Obj;
  if (name !== undefined && m['name'] !== undefined && m['name'] !== name) {
    throw badRequest(
      `the name of the object (${String(m['name'])}) does not match the name on the URL (${name})`,
    );
  }
  if (
    target.kind.namespaced &&
    m['namespace'] !== undefined &&
    m['namespace'] !== target.namespace
  ) {
    throw badRequest(
      'the namespace of the provided object does not match the namespace sent on the request',
    );
  }
  return clone(body);
}

/** metav1.MicroTime's wire format (RFC3339Micro): exactly six fraction digits. */
const MICRO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d\d:\d\d)$/;

/**
 * Rejects what the apiserver's decoder rejects for our kinds: Lease times that are not
 * MicroTime (a client sending millisecond precision fails against a real cluster too).
 */
function checkWireFormats(kind: ResourceKind, obj: Obj): void {
  if (kind.kind !== 'Lease' || !isMap(obj['spec'])) return;
  for (const field of ['acquireTime', 'renewTime']) {
    const v = obj['spec'][field];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string' || !MICRO_TIME.test(v)) {
      throw badRequest(
        `Lease in version "v1" cannot be handled as a Lease: parsing time ${JSON.stringify(v)} as "2006-01-02T15:04:05.000000Z07:00": cannot parse`,
      );
    }
  }
}

export class ResourceOps {
  private readonly store: ObjectStore;

  constructor(store: ObjectStore) {
    this.store = store;
  }

  private resourceKey(kind: ResourceKind): string {
    return storageKey(kind);
  }

  get(target: Target, name: string): Obj {
    const obj = this.store.get(this.resourceKey(target.kind), target.namespace, name);
    if (!obj) throw notFound(target.kind, name);
    return present(obj, target);
  }

  list(target: Target, labelSelector: string | null, fieldSelector: string | null): Obj {
    const byLabel = parseLabelSelector(labelSelector);
    const byField = parseFieldSelector(fieldSelector, target.kind.fieldLabels);
    const { items, revision } = this.store.list(
      this.resourceKey(target.kind),
      target.namespace === '' ? undefined : target.namespace,
    );
    return {
      apiVersion: apiVersionOf(target.kind.group, target.version),
      kind: `${target.kind.kind}List`,
      metadata: { resourceVersion: String(revision) },
      items: items.filter((o) => byLabel(o) && byField(o)).map((o) => present(o, target)),
    };
  }

  create(target: Target, body: unknown, opts: WriteOptions): Obj {
    const obj = this.prepareCreate(
      target,
      toStored(checkIdentity(body, target, undefined), target.kind),
    );
    recordUpdate(undefined, obj, this.writeContext(target, opts.manager, 'main'));
    return this.write(target, obj, opts.dryRun);
  }

  /** Validates a new object and fills in what the server owns; managedFields are left empty. */
  private prepareCreate(target: Target, obj: Obj): Obj {
    checkWireFormats(target.kind, obj);
    const meta = metaOf(obj);
    if (meta['name'] === undefined || meta['name'] === '') {
      if (typeof meta['generateName'] === 'string' && meta['generateName'] !== '') {
        meta['name'] = `${meta['generateName']}${randomBytes(4).toString('hex').slice(0, 5)}`;
      } else {
        throw invalid(
          `${target.kind.kind} "" is invalid: metadata.name: Required value: name or generateName is required`,
        );
      }
    }
    const name = String(meta['name']);
    if (name.length > 253 || !DNS_SUBDOMAIN.test(name)) {
      throw invalid(
        `${target.kind.kind} "${name}" is invalid: metadata.name: Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'`,
        { name, group: target.kind.group, kind: target.kind.kind },
      );
    }
    if (target.kind.namespaced) meta['namespace'] = target.namespace;
    else delete meta['namespace'];
    const key = this.resourceKey(target.kind);
    if (this.store.get(key, target.namespace, name)) {
      throw new ApiError(409, 'AlreadyExists', `${objectRef(key, name)} already exists`, {
        name,
        group: target.kind.group,
        kind: target.kind.resource,
      });
    }
    meta['uid'] = randomUUID();
    meta['creationTimestamp'] = nowRfc3339();
    delete meta['resourceVersion'];
    delete meta['deletionTimestamp'];
    delete meta['managedFields'];
    if (target.kind.statusSubresource) meta['generation'] = 1;
    switch (target.kind.statusOnCreate) {
      case 'clear':
        delete obj['status'];
        break;
      case 'pending':
        obj['status'] = { phase: 'Pending' };
        break;
      case 'keep':
      case 'none':
        break;
    }
    if (target.kind.kind === 'Namespace' && target.kind.group === '') {
      obj['status'] = { phase: 'Active', ...(isMap(obj['status']) ? obj['status'] : {}) };
    }
    return toStored(obj, target.kind);
  }

  private writeContext(target: Target, manager: string, scope: Scope) {
    return {
      manager,
      scope,
      hasStatus: target.kind.statusSubresource,
      apiVersion: apiVersionOf(target.kind.group, target.version),
    };
  }

  private write(target: Target, obj: Obj, dryRun: boolean): Obj {
    if (dryRun) return present(obj, target);
    return present(this.store.put(this.resourceKey(target.kind), obj), target);
  }

  private current(target: Target, name: string): Obj {
    const obj = this.store.get(this.resourceKey(target.kind), target.namespace, name);
    if (!obj) throw notFound(target.kind, name);
    return obj;
  }

  /**
   * Turns the client's full new state into the stored one: the status subresource split,
   * server-owned metadata, generation. `next` is already an edited copy of `current`
   * (PUT body, or the result of a patch).
   */
  private finishUpdate(
    target: Target,
    current: Obj,
    next: Obj,
    scope: Scope,
    manager: string | null,
  ): Obj {
    const curMeta = metaOf(current);
    const rv = metaOf(next)['resourceVersion'];
    if (rv !== undefined && rv !== '' && rv !== curMeta['resourceVersion']) {
      throw conflict(target.kind, String(curMeta['name']));
    }
    let result: Obj;
    if (scope === 'status') {
      // Writes to /status change only the status stanza.
      result = clone(current);
      if (next['status'] === undefined) delete result['status'];
      else result['status'] = next['status'];
    } else {
      result = next;
      if (target.kind.statusSubresource) {
        if (current['status'] === undefined) delete result['status'];
        else result['status'] = clone(current['status']);
      }
    }
    const meta = metaOf(result);
    for (const k of [
      'name',
      'namespace',
      'uid',
      'creationTimestamp',
      'deletionTimestamp',
      'generation',
    ]) {
      if (curMeta[k] === undefined) delete meta[k];
      else meta[k] = curMeta[k];
    }
    meta['managedFields'] = clone(curMeta['managedFields']);
    if (meta['managedFields'] === undefined) delete meta['managedFields'];
    if (target.kind.statusSubresource && !deepEqual(specPart(current), specPart(result))) {
      meta['generation'] = Number(curMeta['generation'] ?? 0) + 1;
    }
    if (manager !== null) recordUpdate(current, result, this.writeContext(target, manager, scope));
    return toStored(result, target.kind);
  }

  update(target: Target, name: string, body: unknown, scope: Scope, opts: WriteOptions): Obj {
    const next = toStored(checkIdentity(body, target, name), target.kind);
    const current = this.current(target, name);
    const rv = metaOf(next)['resourceVersion'];
    if (!target.kind.unconditionalUpdate && (rv === undefined || rv === '')) {
      throw invalid(
        `${target.kind.kind}.${target.kind.group} "${name}" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update`,
      );
    }
    const result = this.finishUpdate(target, current, next, scope, opts.manager);
    if (sameContent(current, result)) return present(current, target);
    return this.write(target, result, opts.dryRun);
  }

  patch(
    target: Target,
    name: string,
    contentType: string,
    rawBody: string,
    scope: Scope,
    opts: WriteOptions & { force: boolean; fieldManagerGiven: boolean },
  ): { object: Obj; created: boolean } {
    if (contentType === 'application/apply-patch+yaml') {
      return this.apply(target, name, rawBody, scope, opts);
    }
    let patch: unknown;
    try {
      patch = JSON.parse(rawBody);
    } catch (err) {
      throw badRequest(`error decoding patch: ${(err as Error).message}`);
    }
    const current = this.current(target, name);
    const view = present(current, target);
    let next: unknown;
    switch (contentType) {
      case 'application/merge-patch+json':
        next = mergePatch(view, patch);
        break;
      case 'application/strategic-merge-patch+json':
        next = strategicMergePatch(view, patch);
        break;
      case 'application/json-patch+json':
        next = jsonPatch(view, patch);
        break;
      default:
        throw new ApiError(
          415,
          'UnsupportedMediaType',
          `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json`,
        );
    }
    // A patch may not rename the object or move it; the identity check says so.
    const checked = toStored(checkIdentity(next, target, name), target.kind);
    const result = this.finishUpdate(target, current, checked, scope, opts.manager);
    if (sameContent(current, result)) return { object: present(current, target), created: false };
    return { object: this.write(target, result, opts.dryRun), created: false };
  }

  private apply(
    target: Target,
    name: string,
    rawBody: string,
    scope: Scope,
    opts: WriteOptions & { force: boolean; fieldManagerGiven: boolean },
  ): { object: Obj; created: boolean } {
    if (!opts.fieldManagerGiven) {
      throw invalid(
        'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
      );
    }
    let applied: unknown;
    try {
      applied = parseYaml(rawBody);
    } catch (err) {
      throw badRequest(`error decoding YAML: ${(err as Error).message}`);
    }
    if (!isMap(applied) || applied['apiVersion'] === undefined || applied['kind'] === undefined) {
      throw badRequest('apply configurations must set apiVersion and kind');
    }
    const config = toStored(checkIdentity(applied, target, name), target.kind);
    const ctx = this.writeContext(target, opts.manager, scope);
    const current = this.store.get(this.resourceKey(target.kind), target.namespace, name);
    if (!current) {
      if (scope === 'status') throw notFound(target.kind, name);
      const fresh = serverSideApply(undefined, config, ctx, opts.force);
      const managed = metaOf(fresh)['managedFields'];
      metaOf(fresh)['name'] = name;
      const obj = this.prepareCreate(target, fresh);
      metaOf(obj)['managedFields'] = managed;
      return { object: this.write(target, obj, opts.dryRun), created: true };
    }
    const merged = serverSideApply(current, config, ctx, opts.force);
    const rv = metaOf(config)['resourceVersion'];
    if (rv !== undefined && rv !== metaOf(current)['resourceVersion'])
      throw conflict(target.kind, name);
    const managed = metaOf(merged)['managedFields'];
    metaOf(merged)['resourceVersion'] = metaOf(current)['resourceVersion'];
    const result = this.finishUpdate(target, current, merged, scope, null);
    metaOf(result)['managedFields'] = managed;
    if (sameContent(current, result)) return { object: present(current, target), created: false };
    return { object: this.write(target, result, opts.dryRun), created: false };
  }

  delete(target: Target, name: string, body: unknown, dryRun: boolean): Obj {
    const current = this.current(target, name);
    const pre = isMap(body) && isMap(body['preconditions']) ? body['preconditions'] : {};
    const meta = metaOf(current);
    if (
      (pre['resourceVersion'] !== undefined &&
        pre['resourceVersion'] !== meta['resourceVersion']) ||
      (pre['uid'] !== undefined && pre['uid'] !== meta['uid'])
    ) {
      throw conflict(target.kind, name);
    }
    if (dryRun) return present(current, target);
    const removed = this.store.remove(this.resourceKey(target.kind), target.namespace, name)!;
    return present(removed, target);
  }

  /** Deletes every object in a namespace (after the namespace itself is gone). */
  deleteNamespaceContents(kinds: ResourceKind[], namespace: string): void {
    for (const kind of kinds) {
      if (!kind.namespaced) continue;
      for (const o of this.store.list(this.resourceKey(kind), namespace).items) {
        this.store.remove(this.resourceKey(kind), namespace, String(metaOf(o)['name']));
      }
    }
  }
}
