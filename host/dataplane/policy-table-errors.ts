import { CodedError } from '../model/coded-error.ts';
/**
 * Why a policy cannot be compiled into a table, or why an image cannot be read.
 * Callers (reconcile, validation, metrics) match on `code`, never on the message.
 */
export type PolicyTableErrorCode =
  /** An address in the policy is not a strict dotted quad. */
  | 'EGW_BAD_IP'
  /** A prefix in a rule is not valid CIDR text. */
  | 'EGW_BAD_CIDR'
  /** portMin/portMax are not integers with 1 <= portMin <= portMax <= 65535. */
  | 'EGW_BAD_PORT_RANGE'
  /** The same egress address is listed twice. */
  | 'EGW_DUPLICATE_EGRESS'
  /** A rule names an egressIP that is not in the policy's egress list. */
  | 'EGW_UNKNOWN_EGRESS'
  /** More egress addresses than the core has slots for. */
  | 'EGW_TOO_MANY_EGRESS'
  /** An egress address has no slot, a slot out of range, or shares its slot. */
  | 'EGW_BAD_SLOT'
  /** The policy object does not have the NatPolicy shape at all. */
  | 'EGW_BAD_POLICY'
  /** An image handed to the decoder is not a well-formed policy table. */
  | 'EGW_BAD_TABLE';

export class PolicyTableError extends CodedError<PolicyTableErrorCode> {}
