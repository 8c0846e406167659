/**
 * Why a metrics or health operation was refused. Callers match on `code`, never on the
 * message.
 */
export type MetricsErrorCode =
  /** A health or readiness check was registered twice under one name. */
  | 'EGW_METRICS_DUPLICATE_CHECK'
  /** A check name, label value or option is unusable (empty, negative, not finite). */
  | 'EGW_METRICS_BAD_INPUT'
  /** The HTTP server could not bind its address. */
  | 'EGW_METRICS_LISTEN';

export class MetricsError extends Error {
  readonly code: MetricsErrorCode;

  constructor(code: MetricsErrorCode, message: string, opts: { cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'MetricsError';
    this.code = code;
  }
}
