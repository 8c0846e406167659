import type { Issue } from '../api/issue.ts';

/**
 * Conditions and events, the two things a user reads to learn "why". The compiler sets
 * {type, status, reason, message}; the status writer adds lastTransitionTime and
 * observedGeneration when it writes them, and posts the events.
 *
 * Condition types:
 *  - Valid (all kinds): False when the object itself, or what it names, is wrong; its
 *    reason is the first error's and its message lists every error. Warnings ride along
 *    in the message of a True Valid.
 *  - Ready (EgressGateway, EgressGatewayPolicy): traffic flows through an active node.
 *  - IPAllocated (Egress with externalIPPool) and IPAssigned (Egress): Antrea's types.
 * Every problem also becomes a Warning event with the same reason: one per issue, and one
 * per other False condition.
 */

export interface StatusCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

export interface StatusEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

/** Reason of a working condition whose object is not used because Valid is False. */
export const invalidReason = 'Invalid';
const invalidMessage = 'not used until the Valid condition is True';

export function validCondition(issues: readonly Issue[]): StatusCondition {
  const errors = issues.filter((i) => i.severity === 'error');
  if (errors.length > 0) {
    return {
      type: 'Valid',
      status: 'False',
      reason: errors[0]!.reason,
      message: errors.map((i) => i.message).join('; '),
    };
  }
  const warnings = issues.map((i) => `warning: ${i.message}`);
  return {
    type: 'Valid',
    status: 'True',
    reason: 'Valid',
    message: ['the spec is valid', ...warnings].join('; '),
  };
}

export function condition(
  type: string,
  ok: boolean,
  reason: string,
  message: string,
): StatusCondition {
  return { type, status: ok ? 'True' : 'False', reason, message };
}

/** The working condition of an object that is not used because it is invalid. */
export function notUsedCondition(type: string): StatusCondition {
  return condition(type, false, invalidReason, invalidMessage);
}

/** One Warning event per issue, and one per False condition other than Valid and Invalid. */
export function eventsFor(
  issues: readonly Issue[],
  conditions: readonly StatusCondition[],
): StatusEvent[] {
  const events: StatusEvent[] = issues.map((i) => ({
    type: 'Warning',
    reason: i.reason,
    message: i.message,
  }));
  for (const c of conditions) {
    if (c.status === 'False' && c.type !== 'Valid' && c.reason !== invalidReason) {
      events.push({ type: 'Warning', reason: c.reason, message: c.message });
    }
  }
  return events;
}
