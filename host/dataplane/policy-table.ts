import type { IPv4 } from '../model/addresses.ts';
import type { NatPolicy } from '../model/nat-policy.ts';
import { type CompileLimits, type ParsedPolicy, parsePolicy } from './policy-table-input.ts';
import {
  BYTE_LENGTH,
  DESTINATION_COUNT,
  EGRESS_COUNT,
  EGRESS_IP,
  EGRESS_PORT_MAX,
  EGRESS_PORT_MIN,
  EGRESS_RECORD_LEN,
  EGRESS_SLOT,
  GROUP_COUNT,
  GROUP_COUNT_FIELD,
  GROUP_FIRST,
  GROUP_RECORD_LEN,
  MAGIC,
  SOURCE_COUNT,
  TABLE_MAGIC,
  TABLE_VERSION,
  tableOffsets,
  VERSION,
} from './policy-table-layout.ts';
import { type IntervalArray, PrefixNodeSet, sweepPrefixes } from './policy-table-sweep.ts';

export { PolicyTableError, type PolicyTableErrorCode } from './policy-table-errors.ts';
export type { CompileLimits } from './policy-table-input.ts';
export { lookupPolicyTable, readPolicyTableHeader } from './policy-table-lookup.ts';
export { SlotAllocator } from './policy-table-slots.ts';

/**
 * Compiles a NatPolicy into the policy table image the core searches
 * (assembly/README.md, "The policy table image"; offsets in policy-table-layout.ts).
 *
 * Two levels of interval arrays:
 *  - sources: the address space cut at every rule's source prefixes; each piece points
 *    to the group of the rules whose sources contain it (identical rule sets share one
 *    group, and so do rule sets whose destination arrays come out identical);
 *  - per group: the space cut at those rules' destination and excluded prefixes; each
 *    piece holds the egress of the rule that wins there by the resolution of
 *    host/model/nat-policy.ts, or 0.
 * A group whose destination array is 0 everywhere is dropped and its sources point to 0:
 * for the core "not a source" and "a source with no rule for this destination" are the
 * same `no_policy`.
 *
 * Both levels come from one sweep (policy-table-sweep.ts). Measured on the 2-core test
 * machine: 10,000 destination prefixes (/16-/32) over 3 rules and 10,000 pod sources
 * compile in 120-180 ms into a 475 KB image (policy-table.test.ts prints the figure).
 * The image grows with groups x their rules' prefixes: every distinct set of rules that
 * selects some source carries its own destination array.
 */
export function compilePolicyTable(
  policy: NatPolicy,
  slots: ReadonlyMap<IPv4, number>,
  limits: CompileLimits = {},
): Uint8Array {
  const parsed = parsePolicy(policy, slots, limits);
  const sources = sweepSources(parsed);

  // Rule sets in order of first appearance; each becomes a group unless its array is
  // empty or equal to one already made.
  const groupOfRuleSet: number[] = [0];
  const groupByContent = new Map<string, number>();
  const groups: IntervalArray[] = [];
  for (const ruleSet of sources.ruleSets) {
    const destinations = sweepDestinations(parsed, ruleSet);
    if (destinations.values.length === 1 && destinations.values[0] === 0) {
      groupOfRuleSet.push(0);
      continue;
    }
    const content = `${destinations.starts.join(',')}|${destinations.values.join(',')}`;
    let group = groupByContent.get(content);
    if (group === undefined) {
      groups.push(destinations);
      group = groups.length;
      groupByContent.set(content, group);
    }
    groupOfRuleSet.push(group);
  }

  // Renumbering can make neighbours equal (two rule sets, one group, or both 0): merge.
  const sourceStarts: number[] = [];
  const sourceGroups: number[] = [];
  for (let i = 0; i < sources.intervals.starts.length; i++) {
    const group = groupOfRuleSet[sources.intervals.values[i]!]!;
    if (sourceGroups.length === 0 || sourceGroups[sourceGroups.length - 1] !== group) {
      sourceStarts.push(sources.intervals.starts[i]!);
      sourceGroups.push(group);
    }
  }
  return writeImage(parsed, { starts: sourceStarts, values: sourceGroups }, groups);
}

interface SourceSweep {
  /** Values are 0 (no rule) or 1 + an index into ruleSets. */
  intervals: IntervalArray;
  /** Rule indices, ascending, of each distinct set of rules met. */
  ruleSets: number[][];
}

/** Appends `rule` unless it is already last: rules are added in ascending order. */
function addRule(rules: number[], rule: number): void {
  if (rules[rules.length - 1] !== rule) rules.push(rule);
}

function sweepSources(policy: ParsedPolicy): SourceSweep {
  const ruleSets: number[][] = [];
  const ruleSetIds = new Map<string, number>();
  const prefixes = new PrefixNodeSet<number[]>(() => []);
  policy.rules.forEach((rule, index) => {
    for (const { network, prefixLength } of rule.sources) {
      addRule(prefixes.at(network, prefixLength), index);
    }
  });
  const intervals = sweepPrefixes(prefixes.nodes(), (chain) => {
    if (chain.length === 0) return 0;
    let rules = chain[0]!.data;
    if (chain.length > 1) {
      rules = [...new Set(chain.flatMap((node) => node.data))].sort((a, b) => a - b);
    }
    const key = rules.join(',');
    let id = ruleSetIds.get(key);
    if (id === undefined) {
      ruleSets.push(rules);
      id = ruleSets.length;
      ruleSetIds.set(key, id);
    }
    return id;
  });
  return { intervals, ruleSets };
}

interface DestinationData {
  /** Rules with this prefix among their destinations, ascending. */
  destinationRules: number[];
  /** Rules with this prefix among their excluded, ascending. */
  excludedRules: number[];
}

function sweepDestinations(policy: ParsedPolicy, ruleSet: readonly number[]): IntervalArray {
  // excludedMark[rule] === stamp: an excluded prefix of the rule contains the piece.
  const excludedMark = new Uint32Array(policy.rules.length);
  let stamp = 0;
  const prefixes = new PrefixNodeSet<DestinationData>(() => ({
    destinationRules: [],
    excludedRules: [],
  }));
  for (const index of ruleSet) {
    const rule = policy.rules[index]!;
    for (const { network, prefixLength } of rule.destinations) {
      addRule(prefixes.at(network, prefixLength).destinationRules, index);
    }
    for (const { network, prefixLength } of rule.excluded) {
      addRule(prefixes.at(network, prefixLength).excludedRules, index);
    }
  }
  return sweepPrefixes(prefixes.nodes(), (chain) => {
    stamp++;
    for (const node of chain) {
      for (const rule of node.data.excludedRules) excludedMark[rule] = stamp;
    }
    // Innermost first: the longest destination prefix wins; within one prefix the
    // rules are ascending, so the first one not excluded is the earliest rule.
    for (let depth = chain.length - 1; depth >= 0; depth--) {
      for (const rule of chain[depth]!.data.destinationRules) {
        if (excludedMark[rule] !== stamp) return policy.rules[rule]!.egressIndex + 1;
      }
    }
    return 0;
  });
}

function writeImage(
  policy: ParsedPolicy,
  sources: IntervalArray,
  groups: readonly IntervalArray[],
): Uint8Array {
  const destinationCount = groups.reduce((sum, group) => sum + group.starts.length, 0);
  const counts = {
    egressCount: policy.egress.length,
    sourceCount: sources.starts.length,
    groupCount: groups.length,
    destinationCount,
  };
  const offsets = tableOffsets(counts);
  const image = new Uint8Array(offsets.byteLength);
  const view = new DataView(image.buffer);
  const u32 = (offset: number, value: number): void => view.setUint32(offset, value, true);

  u32(MAGIC, TABLE_MAGIC);
  u32(VERSION, TABLE_VERSION);
  u32(EGRESS_COUNT, counts.egressCount);
  u32(SOURCE_COUNT, counts.sourceCount);
  u32(GROUP_COUNT, counts.groupCount);
  u32(DESTINATION_COUNT, counts.destinationCount);
  u32(BYTE_LENGTH, offsets.byteLength);

  policy.egress.forEach((egress, index) => {
    const record = offsets.egress + index * EGRESS_RECORD_LEN;
    u32(record + EGRESS_IP, egress.ip);
    view.setUint16(record + EGRESS_PORT_MIN, egress.portMin, true);
    view.setUint16(record + EGRESS_PORT_MAX, egress.portMax, true);
    u32(record + EGRESS_SLOT, egress.slot);
  });
  sources.starts.forEach((start, index) => {
    u32(offsets.sourceStarts + index * 4, start);
    u32(offsets.sourceGroups + index * 4, sources.values[index]!);
  });
  let first = 0;
  groups.forEach((group, index) => {
    const record = offsets.groups + index * GROUP_RECORD_LEN;
    u32(record + GROUP_FIRST, first);
    u32(record + GROUP_COUNT_FIELD, group.starts.length);
    group.starts.forEach((start, offset) => {
      u32(offsets.destinationStarts + (first + offset) * 4, start);
      u32(offsets.destinationEgress + (first + offset) * 4, group.values[offset]!);
    });
    first += group.starts.length;
  });
  return image;
}
