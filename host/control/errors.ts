import { CodedError } from '../model/coded-error.ts';
/**
 * Errors of the control plane's own contracts. A bad user object never throws (it gets a
 * condition); these mean a caller broke the contract, and compile() cannot give an answer.
 */
export type ControlErrorCode =
  /** The election's chooser returned a node that is not among the group's suitable nodes. */
  | 'EGW_BAD_ELECTION'
  /** Inputs that cannot be true at once (two nodes with one name, a bad port range). */
  | 'EGW_BAD_INPUT';

export class ControlError extends CodedError<ControlErrorCode> {}
