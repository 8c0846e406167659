import { ElectionError } from './errors.ts';
import type { LeaseRecord, LeaseSpec, LeaseStore } from './lease-store.ts';

/**
 * One node's way to a shared LeaseStore, which a test can cut: while `reachable` is
 * false every call fails with EGW_LEASE_UNAVAILABLE before reaching the store, as when
 * that node alone (or, with every node's gate shut, everyone) has lost the API server.
 * With `hanging`, calls get no answer for `timeoutMs` and then fail, as requests to an
 * API server behind a black hole do until the client's timeout.
 * A test double, like memory-lease-store.ts.
 */
export class GatedLeaseStore implements LeaseStore {
  reachable = true;
  hanging = false;
  /** How long a hanging call waits before it fails (the client's request timeout). */
  timeoutMs = 5000;
  private readonly inner: LeaseStore;

  constructor(inner: LeaseStore) {
    this.inner = inner;
  }

  read(name: string): Promise<LeaseRecord | null> {
    return this.gate(() => this.inner.read(name));
  }

  create(name: string, spec: LeaseSpec): Promise<LeaseRecord> {
    return this.gate(() => this.inner.create(name, spec));
  }

  replace(name: string, spec: LeaseSpec, resourceVersion: string): Promise<LeaseRecord> {
    return this.gate(() => this.inner.replace(name, spec, resourceVersion));
  }

  private async gate<T>(call: () => Promise<T>): Promise<T> {
    if (this.hanging) {
      await new Promise((resolve) => setTimeout(resolve, this.timeoutMs));
      throw new ElectionError('EGW_LEASE_UNAVAILABLE', `no answer within ${this.timeoutMs} ms`);
    }
    if (!this.reachable) throw new ElectionError('EGW_LEASE_UNAVAILABLE', 'cut off');
    return call();
  }
}
