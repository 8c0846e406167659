import type { EgressStatus, ExternalIPPoolStatus } from '../api/antrea.ts';
import type { EgressGatewayPolicyStatus, EgressGatewayStatus } from '../api/deckhouse.ts';
import type { Issue } from '../api/issue.ts';
import type { ResourceKind } from '../api/resources.ts';
import type { EgressRule, EgressState } from '../model/egress-state.ts';
import { egressDrafts, egressOutcome, poolOutcome } from './antrea-compile.ts';
import type { StatusEvent } from './conditions.ts';
import { makeContext } from './context.ts';
import {
  checkGatewayVIPs,
  checkPolicyGateways,
  gatewayDrafts,
  gatewayStatus,
  policyOutcome,
} from './deckhouse-compile.ts';
import { planAddresses } from './egress-addresses.ts';
import { sortEntries } from './entries.ts';
import { settleGroups } from './groups.ts';
import type { ClusterInputs } from './inputs.ts';
import { compareRules } from './ordering.ts';

/**
 * compile(objects, inputs): both APIs' objects and the cluster view -> the egress model
 * (EgressState) and the status of every object. Pure: no I/O, no clock; the same
 * arguments give the same result on every agent (every list is sorted, every tie broken by
 * a documented order, see ordering.ts and README.md).
 *
 * Steps, each in its own module:
 *  1. check every object (api/validate.ts) and sort them by kind (entries.ts);
 *  2. cross-object checks that make an object unusable: a VIP no selected node can carry,
 *     a policy's unknown gateway (deckhouse-compile.ts);
 *  3. egress addresses: VIPs, static IPs, pool allocation (egress-addresses.ts);
 *  4. one group per gateway and per addressed Egress, settled by suitability and the
 *     election's choice (groups.ts);
 *  5. one rule per usable policy and Egress, in precedence order (ordering.ts), and the
 *     statuses.
 * A bad object only ever affects itself and the objects that name it.
 */

export type ObjectStatus =
  | { kind: 'EgressGateway'; name: string; status: EgressGatewayStatus; events: StatusEvent[] }
  | {
      kind: 'EgressGatewayPolicy';
      name: string;
      status: EgressGatewayPolicyStatus;
      events: StatusEvent[];
    }
  | { kind: 'Egress'; name: string; status: EgressStatus; events: StatusEvent[] }
  | { kind: 'ExternalIPPool'; name: string; status: ExternalIPPoolStatus; events: StatusEvent[] };

export interface CompileResult {
  state: EgressState;
  /** One per named object of the four kinds, by kind then name. */
  statuses: ObjectStatus[];
  /** Objects that get no status (no name, or a duplicate in a file), with why. */
  unwritable: { kind: ResourceKind; name: string | null; issues: Issue[] }[];
  /** Objects of other kinds, ignored. */
  ignored: number;
}

/** Throws ControlError for broken inputs or a chooser that breaks its contract. */
export function compile(objects: readonly unknown[], inputs: ClusterInputs): CompileResult {
  const context = makeContext(inputs);
  const entries = sortEntries(objects);

  checkGatewayVIPs(entries.gateways, context);
  checkPolicyGateways(entries.policies, entries.gateways);
  const plan = planAddresses(entries);

  const pools = new Map(entries.pools.map((p) => [p.name, p]));
  const gateways = new Map(entries.gateways.map((g) => [g.name, g]));
  const settled = settleGroups(
    [
      ...gatewayDrafts(entries.gateways, context),
      ...egressDrafts(entries.egresses, pools, plan, context),
    ],
    inputs.liveAgents,
    inputs.chooseActive,
  );

  const statuses: ObjectStatus[] = [];
  const rules: EgressRule[] = [];
  for (const entry of entries.gateways) {
    statuses.push({ kind: 'EgressGateway', ...gatewayStatus(entry, settled, context) });
  }
  for (const entry of entries.policies) {
    const { rule, ...outcome } = policyOutcome(entry, gateways, settled, context);
    statuses.push({ kind: 'EgressGatewayPolicy', ...outcome });
    if (rule !== null) rules.push(rule);
  }
  for (const entry of entries.egresses) {
    const { rule, ...outcome } = egressOutcome(entry, plan, settled, context);
    statuses.push({ kind: 'Egress', ...outcome });
    if (rule !== null) rules.push(rule);
  }
  for (const entry of entries.pools) {
    statuses.push({ kind: 'ExternalIPPool', ...poolOutcome(entry, plan) });
  }

  return {
    state: {
      groups: [...settled.values()].map((s) => s.group),
      rules: rules.sort(compareRules),
      clusterCIDRs: context.clusterCIDRs,
    },
    statuses,
    unwritable: entries.unwritable,
    ignored: entries.ignored,
  };
}
