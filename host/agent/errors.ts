import { CodedError } from '../model/coded-error.ts';
export type AgentErrorCode =
  /** The worker did not take a policy table in time: it is stuck or gone. */
  | 'EGW_DATAPLANE_STALLED'
  /** The core refused a compiled table (a bug: the compiler and the core disagree). */
  | 'EGW_DATAPLANE_TABLE'
  /** An option is missing or malformed. */
  | 'EGW_AGENT_CONFIG'
  /** The node's own interfaces could not be read. */
  | 'EGW_AGENT_INTERFACES'
  /** Asked to start something while the agent stops. */
  | 'EGW_AGENT_STOPPED';

export class AgentError extends CodedError<AgentErrorCode> {}
