/**
 * A problem found in an object: what the status writer turns into a condition and an
 * event. Problems that are not the object's fault (a full or broken pool, no suitable
 * node) are not Issues but False working conditions; see control/conditions.ts. `reason` is the stable part (a CamelCase word, the condition's and the event's
 * reason); callers match on it, never on `message`. Messages start with the field path
 * (`spec.ipRanges[1].start`) where there is one, and quote the bad value.
 */

export type IssueReason =
  /** The object does not fit the schema (missing or unknown field, wrong type, bad enum). */
  | 'SchemaViolation'
  /** An address is not a dotted-quad IPv4 address, or not one that can be a source. */
  | 'InvalidIP'
  /** A prefix is not a.b.c.d/n. */
  | 'InvalidCIDR'
  /** A pool range with start above end. */
  | 'InvalidRange'
  /** Two ranges of one pool share addresses. */
  | 'OverlappingRanges'
  /** A matchExpressions entry whose values do not fit its operator. */
  | 'InvalidSelector'
  /** A field the mode needs is absent (virtualIPAddress for VirtualIPAddress, ...). */
  | 'MissingField'
  /** A CIDR with host bits set: accepted as its network, but probably a typo. */
  | 'NonCanonicalCIDR'
  /** Two objects of one kind with one name in a configuration file. */
  | 'DuplicateName'
  /** The policy names an EgressGateway that does not exist. */
  | 'GatewayNotFound'
  /** The Egress names an ExternalIPPool that does not exist. */
  | 'PoolNotFound'
  /** The Egress names an ExternalIPPool that is itself invalid. */
  | 'PoolInvalid'
  /** egressIP is not one of the usable addresses of the named pool. */
  | 'IPNotInPool'
  /** The address is already claimed by an older object. */
  | 'IPConflict'
  /** The VIP lies in no subnet of any interface of the gateway's nodes. */
  | 'VIPOutsideSubnet';

export type IssueSeverity =
  /** The object is not used; its Valid condition is False. */
  | 'error'
  /** The object is used; the warning goes into an event and the condition's message. */
  | 'warning';

export interface Issue {
  reason: IssueReason;
  severity: IssueSeverity;
  message: string;
}

export function error(reason: IssueReason, message: string): Issue {
  return { reason, severity: 'error', message };
}

export function warning(reason: IssueReason, message: string): Issue {
  return { reason, severity: 'warning', message };
}

export function hasErrors(issues: readonly Issue[]): boolean {
  return issues.some((issue) => issue.severity === 'error');
}
