import { CodedError } from '../model/coded-error.ts';
/**
 * Errors raised by election code. Callers match on `code`, never on the message
 * (undici's convention, see STYLE.md).
 */
export type ElectionErrorCode =
  /** A Lease write lost a resourceVersion precondition: someone else wrote first, or it is gone. */
  | 'EGW_LEASE_CONFLICT'
  /** The Lease store could not be reached or answered with something other than a conflict. */
  | 'EGW_LEASE_UNAVAILABLE'
  /** Options or inputs that cannot work (bad node name, empty secret, duplicate group key). */
  | 'EGW_ELECTION_CONFIG'
  /** The heartbeat socket could not be bound or used. */
  | 'EGW_HEARTBEAT_SOCKET'
  /** A heartbeat packet to send would not fit in one datagram. */
  | 'EGW_HEARTBEAT_TOO_LARGE';

export class ElectionError extends CodedError<ElectionErrorCode> {}

export function isElectionError(error: unknown, code?: ElectionErrorCode): error is ElectionError {
  return error instanceof ElectionError && (code === undefined || error.code === code);
}

/**
 * True for a lost precondition from any LeaseStore. Matched on `code` alone, not on the
 * class, so that a store built on another module's client (whose errors carry the same
 * stable code) needs no translation layer.
 */
export function isLeaseConflict(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { code?: unknown }).code === 'EGW_LEASE_CONFLICT'
  );
}
