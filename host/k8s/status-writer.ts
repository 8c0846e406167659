/**
 * Writes the status of our custom resources with server-side apply on the /status
 * subresource, as field manager `egressgw`.
 *
 * Why apply and not update: apply needs no read-modify-write cycle (no resourceVersion,
 * so no 409 from a concurrent spec edit), it removes status fields we stopped setting,
 * and it leaves fields owned by other managers alone. `force` takes over fields another
 * manager set, because the status of these objects is ours to report.
 *
 * Retryable failures (conflict, throttling, 5xx, network) are retried with jittered
 * backoff; anything else fails at once with a code.
 */
import { type KubeConfig, type KubernetesObject, PatchStrategy } from '@kubernetes/client-node';
import { Backoff, sleep } from './backoff.ts';
import { httpStatusOf, isRetryable, KubeError, serverMessage } from './errors.ts';
import { type ApiClients, apiVersionOf, type KindRef, makeClients } from './kinds.ts';
import { rawCall } from './request-options.ts';

export interface StatusWriterOptions {
  fieldManager?: string;
  /** Attempts in all, the first included. */
  attempts?: number;
  retryInitialMs?: number;
  retryMaxMs?: number;
  requestTimeoutMs?: number;
}

export const FIELD_MANAGER = 'egressgw';

export class StatusWriter {
  private readonly clients: ApiClients;
  private readonly fieldManager: string;
  private readonly attempts: number;
  private readonly retryInitialMs: number;
  private readonly retryMaxMs: number;
  private readonly requestTimeoutMs: number;

  constructor(kc: KubeConfig, opts: StatusWriterOptions = {}) {
    this.clients = makeClients(kc);
    this.fieldManager = opts.fieldManager ?? FIELD_MANAGER;
    this.attempts = opts.attempts ?? 5;
    this.retryInitialMs = opts.retryInitialMs ?? 200;
    this.retryMaxMs = opts.retryMaxMs ?? 5_000;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 10_000;
  }

  /**
   * Applies `status` as the complete status this manager owns on the object and returns
   * the object as stored afterwards (wire form).
   */
  async applyStatus<T extends KubernetesObject>(
    kind: KindRef<T>,
    name: string,
    status: Record<string, unknown>,
    namespace?: string,
  ): Promise<T> {
    if (kind.group === '') {
      throw new KubeError(
        'EGW_UNSUPPORTED_KIND',
        `status apply is for custom resources; ${kind.kind} is a core kind`,
      );
    }
    if (kind.namespaced && namespace === undefined) {
      throw new KubeError(
        'EGW_UNSUPPORTED_KIND',
        `${kind.kind} is namespaced: a namespace is required`,
      );
    }
    const body = {
      apiVersion: apiVersionOf(kind),
      kind: kind.kind,
      metadata: kind.namespaced ? { name, namespace } : { name },
      status,
    };
    const common = {
      group: kind.group,
      version: kind.version,
      plural: kind.plural,
      name,
      body,
      fieldManager: this.fieldManager,
      force: true,
    };
    const backoff = new Backoff({ initialMs: this.retryInitialMs, maxMs: this.retryMaxMs });
    let lastError: unknown;
    for (let attempt = 1; attempt <= this.attempts; attempt++) {
      try {
        return (await rawCall(
          (o) =>
            namespace !== undefined && kind.namespaced
              ? this.clients.custom.patchNamespacedCustomObjectStatus({ ...common, namespace }, o)
              : this.clients.custom.patchClusterCustomObjectStatus(common, o),
          // The Content-Type is how the client selects server-side apply.
          { timeoutMs: this.requestTimeoutMs, contentType: PatchStrategy.ServerSideApply },
        )) as T;
      } catch (err) {
        lastError = err;
        const code = httpStatusOf(err);
        if (code === 404) {
          throw new KubeError('EGW_STATUS_TARGET_GONE', `${kind.kind} ${name} does not exist`, {
            httpStatus: 404,
            cause: err,
          });
        }
        if (!isRetryable(err)) {
          throw new KubeError(
            'EGW_STATUS_REJECTED',
            `status of ${kind.kind} ${name} rejected: ${serverMessage(err)}`,
            { ...(code !== undefined ? { httpStatus: code } : {}), cause: err },
          );
        }
        if (attempt < this.attempts) await sleep(backoff.next());
      }
    }
    const lastStatus = httpStatusOf(lastError);
    throw new KubeError(
      'EGW_STATUS_WRITE_FAILED',
      `status of ${kind.kind} ${name} not written after ${this.attempts} attempts: ${serverMessage(lastError)}`,
      { ...(lastStatus !== undefined ? { httpStatus: lastStatus } : {}), cause: lastError },
    );
  }
}
