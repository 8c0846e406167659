import { createHash } from 'node:crypto';

/**
 * The few Lease operations fencing needs (coordination.k8s.io/v1 Lease semantics), so
 * that election logic runs unchanged against the API server, an in-process test server
 * or memory.
 *
 * Contract for implementations:
 *  - `read` returns null when the Lease does not exist;
 *  - `create` fails with EGW_LEASE_CONFLICT when the Lease exists;
 *  - `replace` writes only when `resourceVersion` is the current one, otherwise (or when
 *    the Lease is gone) it fails with EGW_LEASE_CONFLICT;
 *  - every write returns the stored record with its new resourceVersion;
 *  - any other failure is EGW_LEASE_UNAVAILABLE (the caller cannot tell what happened
 *    and must treat its hold as unconfirmed).
 */

export interface LeaseSpec {
  /** `<node>/<incarnation>` of the holder (see holderIdentity), null when released. */
  holderIdentity: string | null;
  leaseDurationSeconds: number | null;
  acquireTime: Date | null;
  renewTime: Date | null;
  leaseTransitions: number;
}

export interface LeaseRecord extends LeaseSpec {
  name: string;
  resourceVersion: string;
}

export interface LeaseStore {
  read(name: string): Promise<LeaseRecord | null>;
  create(name: string, spec: LeaseSpec): Promise<LeaseRecord>;
  replace(name: string, spec: LeaseSpec, resourceVersion: string): Promise<LeaseRecord>;
}

/**
 * The holder identity names the node and the run of its agent, so that a peer that sees
 * the node restart (a new heartbeat incarnation) knows the old run's Lease is orphaned.
 * `kubectl get lease` shows it in the HOLDER column; node names never contain '/'.
 */
export function holderIdentity(node: string, incarnation: number): string {
  return `${node}/${incarnation}`;
}

export function parseHolderIdentity(
  identity: string | null,
): { node: string; incarnation: number | null } | null {
  if (identity === null || identity === '') return null;
  const slash = identity.lastIndexOf('/');
  if (slash < 0) return { node: identity, incarnation: null };
  const incarnation = Number(identity.slice(slash + 1));
  return {
    node: identity.slice(0, slash),
    incarnation: Number.isSafeInteger(incarnation) ? incarnation : null,
  };
}

const LEASE_PREFIX = 'egressgw-';
/** Lowercase alphanumerics and '-', so the name is both a DNS label and readable. */
const READABLE_MAX = 63 - LEASE_PREFIX.length - 1 - 10;

/**
 * The Lease name of a group: `egressgw-<kind>-<name>-<hash>`, a valid DNS-1123 label
 * (at most 63 characters). The readable part is lowercased, has every other character
 * replaced by '-' and is cut to fit; the 10 hex digits of SHA-256 over the exact key
 * keep keys that sanitise alike (`Egress/a.b`, `Egress/a-b`) apart.
 */
export function leaseNameFor(groupKey: string): string {
  const readable = groupKey
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, READABLE_MAX)
    .replace(/-+$/, '');
  const digest = createHash('sha256').update(groupKey).digest('hex').slice(0, 10);
  return readable === '' ? `${LEASE_PREFIX}${digest}` : `${LEASE_PREFIX}${readable}-${digest}`;
}
