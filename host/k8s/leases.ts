/**
 * Lease reads and fenced writes for the election: every write carries a precondition
 * (create: the object must not exist; replace: metadata.resourceVersion must be the one
 * read), so of two agents racing on one Lease exactly one write lands and the other gets
 * EGW_LEASE_CONFLICT and must read again.
 *
 * Leases travel in the client's model form. acquireTime and renewTime are MicroTime on the
 * wire, which the apiserver only accepts with exactly six fraction digits; a plain Date
 * serializes with three, so writes turn any Date there into a V1MicroTime. Reads return
 * those fields as the server's strings (the client does not parse MicroTime).
 */
import {
  CoordinationV1Api,
  type KubeConfig,
  type V1Lease,
  V1MicroTime,
} from '@kubernetes/client-node';
import { httpStatusOf, KubeError, serverMessage } from './errors.ts';
import { requestOptions } from './request-options.ts';

export interface LeaseClientOptions {
  requestTimeoutMs?: number;
}

export class LeaseClient {
  private readonly api: CoordinationV1Api;
  private readonly requestTimeoutMs: number;

  constructor(kc: KubeConfig, opts: LeaseClientOptions = {}) {
    this.api = kc.makeApiClient(CoordinationV1Api);
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 5_000;
  }

  private options() {
    return requestOptions({ timeoutMs: this.requestTimeoutMs });
  }

  /** The Lease, or null when it does not exist. */
  async readLease(namespace: string, name: string): Promise<V1Lease | null> {
    try {
      return await this.api.readNamespacedLease({ namespace, name }, this.options());
    } catch (err) {
      if (httpStatusOf(err) === 404) return null;
      throw requestError(`read Lease ${namespace}/${name}`, err);
    }
  }

  /** Creates the Lease; EGW_LEASE_CONFLICT when it already exists. */
  async createLease(lease: V1Lease): Promise<V1Lease> {
    const { namespace, name } = identity(lease);
    const body: V1Lease = withMicroTimes({ ...lease, metadata: { ...lease.metadata } });
    delete body.metadata!.resourceVersion;
    try {
      return await this.api.createNamespacedLease({ namespace, body }, this.options());
    } catch (err) {
      if (httpStatusOf(err) === 409) {
        throw new KubeError('EGW_LEASE_CONFLICT', `Lease ${namespace}/${name} already exists`, {
          httpStatus: 409,
          cause: err,
        });
      }
      throw requestError(`create Lease ${namespace}/${name}`, err);
    }
  }

  /**
   * Replaces the Lease if it is still at lease.metadata.resourceVersion; EGW_LEASE_CONFLICT
   * when someone wrote it since (or deleted it).
   */
  async replaceLease(lease: V1Lease): Promise<V1Lease> {
    const { namespace, name } = identity(lease);
    if (!lease.metadata?.resourceVersion) {
      throw new KubeError(
        'EGW_LEASE_UNFENCED',
        `replace of Lease ${namespace}/${name} needs metadata.resourceVersion from a read`,
      );
    }
    try {
      return await this.api.replaceNamespacedLease(
        { namespace, name, body: withMicroTimes(lease) },
        this.options(),
      );
    } catch (err) {
      const status = httpStatusOf(err);
      if (status === 409 || status === 404) {
        throw new KubeError(
          'EGW_LEASE_CONFLICT',
          `Lease ${namespace}/${name} changed since resourceVersion ${lease.metadata.resourceVersion}: ${serverMessage(err)}`,
          { httpStatus: status, cause: err },
        );
      }
      throw requestError(`replace Lease ${namespace}/${name}`, err);
    }
  }
}

function microTime(value: Date | undefined): Date | undefined {
  if (value instanceof Date && !(value instanceof V1MicroTime)) {
    return new V1MicroTime(value.getTime());
  }
  return value;
}

/** A copy whose acquireTime and renewTime serialize as MicroTime. */
function withMicroTimes(lease: V1Lease): V1Lease {
  if (!lease.spec) return lease;
  const spec = { ...lease.spec };
  const acquire = microTime(spec.acquireTime);
  const renew = microTime(spec.renewTime);
  if (acquire !== undefined) spec.acquireTime = acquire;
  if (renew !== undefined) spec.renewTime = renew;
  return { ...lease, spec };
}

function identity(lease: V1Lease): { namespace: string; name: string } {
  const namespace = lease.metadata?.namespace;
  const name = lease.metadata?.name;
  if (!namespace || !name) {
    throw new KubeError('EGW_K8S_REQUEST', 'a Lease needs metadata.namespace and metadata.name');
  }
  return { namespace, name };
}

function requestError(what: string, err: unknown): KubeError {
  const status = httpStatusOf(err);
  return new KubeError('EGW_K8S_REQUEST', `${what} failed: ${serverMessage(err)}`, {
    ...(status !== undefined ? { httpStatus: status } : {}),
    cause: err,
  });
}
