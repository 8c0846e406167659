import { type V1Lease, V1MicroTime } from '@kubernetes/client-node';
import { ElectionError, isLeaseConflict } from './errors.ts';
import type { LeaseRecord, LeaseSpec, LeaseStore } from './lease-store.ts';

/**
 * LeaseStore over coordination.k8s.io/v1 Leases in one namespace.
 *
 * It takes the three calls it needs as an interface rather than a client class, so that
 * election/ does not depend on k8s/ (STYLE.md, layout): k8s/leases.ts's LeaseClient fits
 * it as is, and cli/ passes one in. Whatever the client throws with code
 * EGW_LEASE_CONFLICT stays a conflict; every other failure becomes EGW_LEASE_UNAVAILABLE.
 */
export interface LeaseApi {
  /** The Lease, or null when it does not exist. */
  readLease(namespace: string, name: string): Promise<V1Lease | null>;
  /** Conflict when it exists. */
  createLease(lease: V1Lease): Promise<V1Lease>;
  /** Conflict when metadata.resourceVersion is not the current one, or it is gone. */
  replaceLease(lease: V1Lease): Promise<V1Lease>;
}

/** Labels every Lease egressgw writes, so `kubectl get lease -l` finds them. */
export const LEASE_LABELS: Readonly<Record<string, string>> = {
  'app.kubernetes.io/managed-by': 'egressgw',
  'app.kubernetes.io/component': 'election',
};

export class KubeLeaseStore implements LeaseStore {
  private readonly api: LeaseApi;
  private readonly namespace: string;

  constructor(api: LeaseApi, namespace: string) {
    if (namespace === '') {
      throw new ElectionError('EGW_ELECTION_CONFIG', 'the Lease namespace must not be empty');
    }
    this.api = api;
    this.namespace = namespace;
  }

  async read(name: string): Promise<LeaseRecord | null> {
    const lease = await this.call(`read Lease ${name}`, () =>
      this.api.readLease(this.namespace, name),
    );
    return lease === null ? null : toRecord(lease);
  }

  async create(name: string, spec: LeaseSpec): Promise<LeaseRecord> {
    const lease = await this.call(`create Lease ${name}`, () =>
      this.api.createLease(this.toLease(name, spec, undefined)),
    );
    return toRecord(lease);
  }

  async replace(name: string, spec: LeaseSpec, resourceVersion: string): Promise<LeaseRecord> {
    const lease = await this.call(`replace Lease ${name}`, () =>
      this.api.replaceLease(this.toLease(name, spec, resourceVersion)),
    );
    return toRecord(lease);
  }

  private async call<T>(what: string, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      const message = `${what} in ${this.namespace}: ${(error as Error)?.message ?? error}`;
      throw new ElectionError(
        isLeaseConflict(error) ? 'EGW_LEASE_CONFLICT' : 'EGW_LEASE_UNAVAILABLE',
        message,
        { cause: error },
      );
    }
  }

  private toLease(name: string, spec: LeaseSpec, resourceVersion: string | undefined): V1Lease {
    const micro = (date: Date | null): V1MicroTime | undefined =>
      date === null ? undefined : new V1MicroTime(date.getTime());
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name,
        namespace: this.namespace,
        labels: { ...LEASE_LABELS },
        ...(resourceVersion === undefined ? {} : { resourceVersion }),
      },
      spec: {
        // A released Lease has no holder field at all, as client-go writes it.
        ...(spec.holderIdentity === null ? {} : { holderIdentity: spec.holderIdentity }),
        ...(spec.leaseDurationSeconds === null
          ? {}
          : { leaseDurationSeconds: spec.leaseDurationSeconds }),
        ...(spec.acquireTime === null ? {} : { acquireTime: micro(spec.acquireTime) }),
        ...(spec.renewTime === null ? {} : { renewTime: micro(spec.renewTime) }),
        leaseTransitions: spec.leaseTransitions,
      },
    };
  }
}

/** The client hands MicroTime fields back as strings (its serializer does not know the type). */
function toDate(value: Date | string | undefined): Date | null {
  if (value === undefined || value === null) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

function toRecord(lease: V1Lease): LeaseRecord {
  const name = lease.metadata?.name;
  const resourceVersion = lease.metadata?.resourceVersion;
  if (!name || !resourceVersion) {
    throw new ElectionError(
      'EGW_LEASE_UNAVAILABLE',
      'the API server returned a Lease without metadata.name or metadata.resourceVersion',
    );
  }
  const spec = lease.spec ?? {};
  return {
    name,
    resourceVersion,
    holderIdentity: spec.holderIdentity ? spec.holderIdentity : null,
    leaseDurationSeconds: spec.leaseDurationSeconds ?? null,
    acquireTime: toDate(spec.acquireTime as Date | string | undefined),
    renewTime: toDate(spec.renewTime as Date | string | undefined),
    leaseTransitions: spec.leaseTransitions ?? 0,
  };
}
