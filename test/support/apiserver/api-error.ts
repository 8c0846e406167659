/**
 * An error the server answers with: an HTTP code plus the metav1.Status `reason` that
 * clients match on (client-go's apierrors.IsConflict and friends read `reason`, the
 * JavaScript client reads the HTTP code).
 */

export type StatusReason =
  | 'BadRequest'
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Invalid'
  | 'Gone'
  | 'Expired'
  | 'MethodNotAllowed'
  | 'UnsupportedMediaType'
  | 'RequestEntityTooLarge'
  | 'ServiceUnavailable'
  | 'InternalError';

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
}

export class ApiError extends Error {
  readonly httpCode: number;
  readonly reason: StatusReason;
  readonly details: StatusDetails | undefined;

  constructor(httpCode: number, reason: StatusReason, message: string, details?: StatusDetails) {
    super(message);
    this.name = 'ApiError';
    this.httpCode = httpCode;
    this.reason = reason;
    this.details = details;
  }

  /** The metav1.Status body. */
  toStatus(): Record<string, unknown> {
    return statusObject(this.httpCode, this.reason, this.message, this.details);
  }
}

export function statusObject(
  code: number,
  reason: StatusReason,
  message: string,
  details?: StatusDetails,
): Record<string, unknown> {
  const status: Record<string, unknown> = {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    code,
  };
  if (details) status['details'] = details;
  return status;
}

/** `leases.coordination.k8s.io "x"`, the way the apiserver names an object in messages. */
export function objectRef(qualified: string, name: string): string {
  return `${qualified} "${name}"`;
}

export const badRequest = (message: string): ApiError => new ApiError(400, 'BadRequest', message);
export const invalid = (message: string, details?: StatusDetails): ApiError =>
  new ApiError(422, 'Invalid', message, details);
