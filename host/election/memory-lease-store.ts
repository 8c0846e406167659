import { ElectionError } from './errors.ts';
import type { LeaseRecord, LeaseSpec, LeaseStore } from './lease-store.ts';

/**
 * A LeaseStore in memory with the API server's precondition semantics (lease-store.ts),
 * shared by every elector of a test. resourceVersions come from one counter, as etcd's
 * revision does, so a replaced and re-created Lease never reuses one.
 * `available = false` makes every call fail with EGW_LEASE_UNAVAILABLE, as an
 * unreachable API server would; `latencyMs` delays every answer.
 */
export class MemoryLeaseStore implements LeaseStore {
  available = true;
  latencyMs = 0;
  private revision = 0;
  private readonly leases = new Map<string, LeaseRecord>();

  async read(name: string): Promise<LeaseRecord | null> {
    await this.roundTrip();
    const lease = this.leases.get(name);
    return lease === undefined ? null : copy(lease);
  }

  async create(name: string, spec: LeaseSpec): Promise<LeaseRecord> {
    await this.roundTrip();
    if (this.leases.has(name)) {
      throw new ElectionError('EGW_LEASE_CONFLICT', `lease ${name} already exists`);
    }
    return this.store(name, spec);
  }

  async replace(name: string, spec: LeaseSpec, resourceVersion: string): Promise<LeaseRecord> {
    await this.roundTrip();
    const current = this.leases.get(name);
    if (current === undefined) {
      throw new ElectionError('EGW_LEASE_CONFLICT', `lease ${name} does not exist`);
    }
    if (current.resourceVersion !== resourceVersion) {
      throw new ElectionError(
        'EGW_LEASE_CONFLICT',
        `lease ${name} is at resourceVersion ${current.resourceVersion}, not ${resourceVersion}`,
      );
    }
    return this.store(name, spec);
  }

  /** Removes a Lease, as `kubectl delete lease` would. */
  delete(name: string): boolean {
    return this.leases.delete(name);
  }

  /** The stored record without a round trip, for test assertions. */
  peek(name: string): LeaseRecord | undefined {
    const lease = this.leases.get(name);
    return lease === undefined ? undefined : copy(lease);
  }

  private store(name: string, spec: LeaseSpec): LeaseRecord {
    const record: LeaseRecord = copy({ ...spec, name, resourceVersion: String(++this.revision) });
    this.leases.set(name, record);
    return copy(record);
  }

  private async roundTrip(): Promise<void> {
    if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
    if (!this.available) {
      throw new ElectionError('EGW_LEASE_UNAVAILABLE', 'lease store unavailable');
    }
  }
}

function copy(record: LeaseRecord): LeaseRecord {
  return {
    name: record.name,
    resourceVersion: record.resourceVersion,
    holderIdentity: record.holderIdentity,
    leaseDurationSeconds: record.leaseDurationSeconds,
    acquireTime: record.acquireTime === null ? null : new Date(record.acquireTime),
    renewTime: record.renewTime === null ? null : new Date(record.renewTime),
    leaseTransitions: record.leaseTransitions,
  };
}
