/**
 * Why a Kubernetes operation failed. Callers (election, reconcile, the agent's health)
 * match on `code`, never on the message.
 */
export type KubeErrorCode =
  /** A Lease create or replace lost the race: the object exists, or changed since read. */
  | 'EGW_LEASE_CONFLICT'
  /** A Lease replace without metadata.resourceVersion: it would not be fenced. */
  | 'EGW_LEASE_UNFENCED'
  /** No usable kubeconfig: no file given and not running in a cluster, or a bad file. */
  | 'EGW_KUBECONFIG'
  /** A status write found no object to write to. */
  | 'EGW_STATUS_TARGET_GONE'
  /** The server refused a status write as invalid; retrying cannot help. */
  | 'EGW_STATUS_REJECTED'
  /** A status write kept failing with retryable errors until the attempts ran out. */
  | 'EGW_STATUS_WRITE_FAILED'
  /** An event could not be written. */
  | 'EGW_EVENT_WRITE_FAILED'
  /** The kind cannot be used with this operation (e.g. status apply on a core kind). */
  | 'EGW_UNSUPPORTED_KIND'
  /** waitForSync ran out of time before the first list completed. */
  | 'EGW_SYNC_TIMEOUT'
  /** Any other failed request to the API server. */
  | 'EGW_K8S_REQUEST';

export class KubeError extends Error {
  readonly code: KubeErrorCode;
  /** The HTTP status the server answered with; undefined for network errors. */
  readonly httpStatus: number | undefined;

  constructor(
    code: KubeErrorCode,
    message: string,
    opts: { httpStatus?: number; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'KubeError';
    this.code = code;
    this.httpStatus = opts.httpStatus;
  }
}

/**
 * The HTTP status of an error from @kubernetes/client-node: ApiException carries it as
 * `code`, the watch as `statusCode`. Undefined for network errors and timeouts.
 */
export function httpStatusOf(err: unknown): number | undefined {
  if (err === null || typeof err !== 'object') return undefined;
  const e = err as { code?: unknown; statusCode?: unknown };
  if (typeof e.statusCode === 'number') return e.statusCode;
  if (typeof e.code === 'number') return e.code;
  return undefined;
}

/** Conflicts, throttling, server errors and network failures may succeed when retried. */
export function isRetryable(err: unknown): boolean {
  const status = httpStatusOf(err);
  if (status === undefined) return true;
  return status === 409 || status === 429 || status >= 500;
}

/** The Status message from an ApiException body (a JSON string), or the error's message. */
export function serverMessage(err: unknown): string {
  const body = (err as { body?: unknown } | null)?.body;
  if (typeof body === 'string') {
    try {
      const parsed = JSON.parse(body) as { message?: unknown };
      if (typeof parsed.message === 'string') return parsed.message;
    } catch {
      // Not JSON: fall through to the error's own message.
    }
  }
  return err instanceof Error ? err.message : String(err);
}
