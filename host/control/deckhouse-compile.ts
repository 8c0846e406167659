import type {
  EgressGateway,
  EgressGatewayPolicy,
  EgressGatewayPolicyStatus,
  EgressGatewayStatus,
} from '../api/deckhouse.ts';
import { error } from '../api/issue.ts';
import type { EgressRule } from '../model/egress-state.ts';
import {
  condition,
  eventsFor,
  notUsedCondition,
  type StatusCondition,
  type StatusEvent,
  validCondition,
} from './conditions.ts';
import {
  type CompileContext,
  placementOf,
  plural,
  sourcesOf,
  withClusterCIDRs,
} from './context.ts';
import { type Entry, reject } from './entries.ts';
import {
  describeOthers,
  describeUnsuitable,
  type GroupDraft,
  type SettledGroup,
} from './groups.ts';
import { primaryIPProblem, primaryIPv4, vipProblem } from './node-fitness.ts';
import { deckhouseSelectsPod, matchesLabelMap } from './selector.ts';

/**
 * EgressGateway and EgressGatewayPolicy -> groups, rules and statuses. A gateway is one
 * group (`EgressGateway/<name>`); a policy is one rule on its gateway's group.
 */

export const gatewayKey = (name: string): string => `EgressGateway/${name}`;

function candidatesOf(gateway: EgressGateway, context: CompileContext) {
  return context.nodes.filter((node) => matchesLabelMap(gateway.spec.nodeSelector, node.labels));
}

/**
 * A VIP that fits no selected node is a spec error (VIPOutsideSubnet), decided only when
 * every selected node's interfaces are known; a VIP that fits some nodes only makes the
 * others unsuitable (groups.ts).
 */
export function checkGatewayVIPs(
  gateways: readonly Entry<EgressGateway>[],
  context: CompileContext,
): void {
  for (const entry of gateways) {
    const vip = entry.object?.spec.sourceIP.virtualIPAddress?.ip;
    if (entry.object === null || entry.object.spec.sourceIP.mode !== 'VirtualIPAddress' || !vip) {
      continue;
    }
    const candidates = candidatesOf(entry.object, context);
    if (candidates.length === 0 || candidates.some((node) => node.interfaces === null)) continue;
    const problems = candidates.map((node) => ({
      node: node.name,
      problem: vipProblem(node, vip),
    }));
    if (problems.every((p) => p.problem !== null)) {
      reject(
        entry,
        error(
          'VIPOutsideSubnet',
          `spec.sourceIP.virtualIPAddress.ip: ${vip} cannot be placed on any selected node: ` +
            problems.map((p) => `${p.node}: ${p.problem}`).join('; '),
        ),
      );
    }
  }
}

/** A policy naming a gateway that does not exist is invalid (GatewayNotFound). */
export function checkPolicyGateways(
  policies: readonly Entry<EgressGatewayPolicy>[],
  gateways: readonly Entry<EgressGateway>[],
): void {
  const names = new Set(gateways.map((g) => g.name));
  for (const entry of policies) {
    const wanted = entry.object?.spec.egressGatewayName;
    if (wanted !== undefined && !names.has(wanted)) {
      reject(
        entry,
        error('GatewayNotFound', `spec.egressGatewayName: no EgressGateway named ${wanted}`),
      );
    }
  }
}

export function gatewayDrafts(
  gateways: readonly Entry<EgressGateway>[],
  context: CompileContext,
): GroupDraft[] {
  const drafts: GroupDraft[] = [];
  for (const entry of gateways) {
    const gateway = entry.object;
    if (gateway === null) continue;
    const { sourceIP } = gateway.spec;
    const candidates = candidatesOf(gateway, context);
    if (sourceIP.mode === 'VirtualIPAddress') {
      const vip = sourceIP.virtualIPAddress!.ip;
      drafts.push({
        key: gatewayKey(entry.name),
        mode: 'virtual-ip',
        egressIP: vip,
        interfaceName: null,
        candidates,
        addressProblem: (node) => vipProblem(node, vip),
      });
    } else {
      const interfaceName = sourceIP.primaryIPFromEgressGatewayNodeInterface!.interfaceName;
      drafts.push({
        key: gatewayKey(entry.name),
        mode: 'primary-ip',
        egressIP: null,
        interfaceName,
        candidates,
        addressProblem: (node) => primaryIPProblem(node, interfaceName),
      });
    }
  }
  return drafts;
}

/** The address outside servers see for an active group, when it is known. */
function currentIP(settled: SettledGroup, context: CompileContext): string | null {
  const { group } = settled;
  if (group.egressIP !== null) return group.egressIP;
  const active = context.nodes.find((n) => n.name === group.activeNode);
  if (active?.interfaces == null || group.interfaceName === null) return null;
  return primaryIPv4(active.interfaces, group.interfaceName);
}

/** "as 172.18.18.242", or "as its primary IPv4 on eth1" when the address is not known. */
function asWhat(settled: SettledGroup, context: CompileContext): string {
  const ip = currentIP(settled, context);
  return ip !== null ? `as ${ip}` : `as its primary IPv4 on ${settled.group.interfaceName}`;
}

function noNodeMessage(gateway: EgressGateway, settled: SettledGroup): string {
  if (settled.group.candidates.length === 0) {
    const labels = Object.entries(gateway.spec.nodeSelector ?? {}).map(([k, v]) => `${k}=${v}`);
    return `no node matches spec.nodeSelector (${labels.join(', ')})`;
  }
  const count = plural(settled.group.candidates.length, 'selected node');
  return `none of the ${count} is suitable: ${describeUnsuitable(settled)}`;
}

export interface GatewayStatus {
  name: string;
  status: EgressGatewayStatus;
  events: StatusEvent[];
}

export function gatewayStatus(
  entry: Entry<EgressGateway>,
  settled: ReadonlyMap<string, SettledGroup>,
  context: CompileContext,
): GatewayStatus {
  const conditions: StatusCondition[] = [validCondition(entry.issues)];
  const status: EgressGatewayStatus = { conditions };
  if (entry.generation !== undefined) status.observedGeneration = entry.generation;
  const group = entry.object === null ? undefined : settled.get(gatewayKey(entry.name));
  if (entry.object === null || group === undefined) {
    conditions.push(notUsedCondition('Ready'));
  } else {
    const { activeNode, suitable } = group.group;
    status.readyNodes = suitable.length;
    const ip = currentIP(group, context);
    if (ip !== null) status.egressIP = ip;
    if (activeNode !== null) {
      status.activeNode = activeNode;
      conditions.push(
        condition(
          'Ready',
          true,
          'Active',
          `${activeNode} translates ${asWhat(group, context)}; ${describeOthers(group)}`,
        ),
      );
    } else {
      conditions.push(
        condition('Ready', false, 'NoSuitableNodes', noNodeMessage(entry.object, group)),
      );
    }
  }
  return { name: entry.name, status, events: eventsFor(entry.issues, conditions) };
}

export interface PolicyOutcome {
  name: string;
  status: EgressGatewayPolicyStatus;
  events: StatusEvent[];
  rule: EgressRule | null;
}

export function policyOutcome(
  entry: Entry<EgressGatewayPolicy>,
  gateways: ReadonlyMap<string, Entry<EgressGateway>>,
  settled: ReadonlyMap<string, SettledGroup>,
  context: CompileContext,
): PolicyOutcome {
  const conditions: StatusCondition[] = [validCondition(entry.issues)];
  const status: EgressGatewayPolicyStatus = { conditions };
  if (entry.generation !== undefined) status.observedGeneration = entry.generation;
  let rule: EgressRule | null = null;
  const policy = entry.object;
  if (policy === null) {
    conditions.push(notUsedCondition('Ready'));
  } else {
    const gatewayName = policy.spec.egressGatewayName;
    const group = settled.get(gatewayKey(gatewayName));
    // Only usable gateways have a group.
    if (group === undefined) {
      conditions.push(
        condition(
          'Ready',
          false,
          'GatewayNotReady',
          `EgressGateway ${gatewayName} is invalid (see its Valid condition)`,
        ),
      );
    } else {
      const pods = context.pods.filter((p) =>
        policy.spec.selectors.some((s) => deckhouseSelectsPod(s.podSelector, p.pod)),
      );
      rule = {
        id: `EgressGatewayPolicy/${entry.name}`,
        group: group.group.key,
        sources: sourcesOf(pods),
        placement: placementOf(pods),
        destinations: [...policy.spec.destinationCIDRs],
        excluded: withClusterCIDRs(policy.spec.excludedCIDRs ?? [], context.clusterCIDRs),
      };
      const selected = plural(rule.sources.length, 'selected pod');
      const active = group.group.activeNode;
      conditions.push(
        active !== null
          ? condition(
              'Ready',
              true,
              'Active',
              `${selected}: traffic leaves through EgressGateway ${gatewayName} on ${active} ` +
                asWhat(group, context),
            )
          : condition(
              'Ready',
              false,
              'GatewayNotReady',
              `${selected}, but EgressGateway ${gatewayName} has no active node: ` +
                noNodeMessage(gateways.get(gatewayName)!.object!, group),
            ),
      );
    }
  }
  return { name: entry.name, status, events: eventsFor(entry.issues, conditions), rule };
}
