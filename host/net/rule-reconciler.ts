import { formatCidr, parseCidr } from '../model/cidr.ts';
import type { RuleSpec } from './desired-state.ts';
import type { NetContext } from './exec.ts';
import { type IpRuleJson, ipBatch, listRules } from './ip.ts';

/**
 * Policy rules: ours are the IPv4 rules stamped with our protocol; the kernel's `lookup
 * local` rule is ours to move only as far as the plan says (0 = where the kernel put it).
 *
 * Every change adds before it deletes. For the local rule that is what makes the move
 * safe: `lookup local` at its new place exists before the one at 0 goes, and on the way
 * back the one at 0 returns before ours goes; at no moment does the node lack local
 * delivery.
 */

const LOCAL_TABLE = 255;
const RTPROT_KERNEL = 2;
const IPPROTO_NAMES: Record<string, number> = { icmp: 1, tcp: 6, udp: 17 };
// Fields of `ip -j rule` that say nothing about what the rule matches.
const NEUTRAL_FIELDS = new Set(['priority', 'src', 'protocol', 'iif_detached', 'oif_detached']);
const KNOWN_FIELDS = new Set([
  ...NEUTRAL_FIELDS,
  'dst',
  'dstlen',
  'iif',
  'fwmark',
  'fwmask',
  'ipproto',
  'dport',
  'dport_start',
  'dport_end',
  'table',
  'goto',
  'nop',
]);

export interface RuleDesired {
  rules: RuleSpec[];
  localRulePriority: number;
  protocol: number;
}

function numeric(value: unknown): number {
  return typeof value === 'number' ? value : Number(value);
}

function ipproto(value: string | number): number {
  if (typeof value === 'number') return value;
  if (value in IPPROTO_NAMES) return IPPROTO_NAMES[value]!;
  return Number(value.replace(/^ipproto-/, ''));
}

/** Reads one rule of `ip -4 -N -d -j rule show` into the plan's form. */
export function normalizeRule(json: IpRuleJson): RuleSpec {
  const other: string[] = [];
  for (const [name, value] of Object.entries(json)) {
    if (!KNOWN_FIELDS.has(name)) other.push(`${name}=${JSON.stringify(value)}`);
  }
  if (json.src !== undefined && json.src !== 'all') other.push(`src=${json.src}`);
  let action: RuleSpec['action'];
  if (json.goto !== undefined) action = { kind: 'goto', target: json.goto };
  else if ('nop' in json) action = { kind: 'nop' };
  else action = { kind: 'lookup', table: numeric(json.table) };
  const rule: RuleSpec = {
    priority: json.priority,
    action,
    protocol: json.protocol === undefined ? 0 : numeric(json.protocol),
  };
  if (json.iif !== undefined) rule.iif = json.iif;
  if (json.dst !== undefined) rule.to = formatCidr(parseCidr(`${json.dst}/${json.dstlen ?? 32}`));
  if (json.ipproto !== undefined) rule.ipproto = ipproto(json.ipproto);
  if (json.dport !== undefined) rule.dport = [json.dport, json.dport];
  if (json.dport_start !== undefined) rule.dport = [json.dport_start, json.dport_end ?? 0];
  if (json.fwmark !== undefined) {
    rule.fwmark = {
      value: Number(json.fwmark),
      mask: json.fwmask === undefined ? 0xffffffff : Number(json.fwmask),
    };
  }
  if (other.length > 0) rule.other = other.sort();
  return rule;
}

/** Identity of a rule: two rules with the same key match the same packets the same way. */
export function ruleKey(rule: RuleSpec): string {
  return JSON.stringify([
    rule.priority,
    rule.iif ?? null,
    rule.to ?? null,
    rule.ipproto ?? null,
    rule.dport ?? null,
    rule.fwmark ? [rule.fwmark.value >>> 0, rule.fwmark.mask >>> 0] : null,
    rule.action,
    rule.protocol,
    rule.other ?? null,
  ]);
}

function isLocalRule(rule: RuleSpec): boolean {
  return (
    rule.action.kind === 'lookup' &&
    rule.action.table === LOCAL_TABLE &&
    rule.iif === undefined &&
    rule.to === undefined &&
    rule.ipproto === undefined &&
    rule.dport === undefined &&
    rule.fwmark === undefined &&
    rule.other === undefined
  );
}

function hex(value: number): string {
  return `0x${(value >>> 0).toString(16)}`;
}

/** The `ip rule` arguments that select and identify a rule (after add/del). */
export function ruleArguments(rule: RuleSpec): string {
  const parts = [`pref ${rule.priority}`];
  if (rule.iif !== undefined) parts.push(`iif ${rule.iif}`);
  if (rule.to !== undefined) parts.push(`to ${rule.to}`);
  if (rule.ipproto !== undefined) parts.push(`ipproto ${rule.ipproto}`);
  if (rule.dport !== undefined) {
    const [first, last] = rule.dport;
    parts.push(first === last ? `dport ${first}` : `dport ${first}-${last}`);
  }
  if (rule.fwmark !== undefined) {
    parts.push(`fwmark ${hex(rule.fwmark.value)}/${hex(rule.fwmark.mask)}`);
  }
  if (rule.action.kind === 'lookup') parts.push(`lookup ${rule.action.table}`);
  else if (rule.action.kind === 'goto') parts.push(`goto ${rule.action.target}`);
  else parts.push('nop');
  parts.push(`protocol ${rule.protocol}`);
  return parts.join(' ');
}

export interface RuleChanges {
  add: RuleSpec[];
  delete: RuleSpec[];
}

/**
 * Pure: what to add and delete so that our rules are exactly `desired.rules` and the
 * local rule sits at `desired.localRulePriority`. Rules of others are never touched,
 * except the kernel's local rule at 0 while it is moved.
 */
export function diffRules(observed: readonly IpRuleJson[], desired: RuleDesired): RuleChanges {
  const wantedLocal: RuleSpec = {
    priority: desired.localRulePriority,
    action: { kind: 'lookup', table: LOCAL_TABLE },
    protocol: desired.localRulePriority === 0 ? RTPROT_KERNEL : desired.protocol,
  };
  const wanted = new Map<string, RuleSpec>();
  for (const rule of [...desired.rules, wantedLocal]) wanted.set(ruleKey(rule), rule);

  const kept = new Set<string>();
  const remove: RuleSpec[] = [];
  let localFound = false;
  for (const json of observed) {
    const rule = normalizeRule(json);
    const key = ruleKey(rule);
    const local = isLocalRule(rule);
    // Any local rule at the wanted place will do (the kernel's may say protocol 0 on
    // old kernels); others' local rules elsewhere are not ours to judge.
    if (local && rule.priority === wantedLocal.priority && !localFound) {
      localFound = true;
      continue;
    }
    const ours =
      rule.protocol === desired.protocol ||
      (local && rule.priority === 0 && desired.localRulePriority !== 0);
    if (!ours) continue;
    if (wanted.has(key) && !kept.has(key) && !local) kept.add(key);
    else remove.push(rule);
  }
  const add = [...wanted.entries()]
    .filter(([key, rule]) => !kept.has(key) && !(isLocalRule(rule) && localFound))
    .map(([, rule]) => rule)
    .sort((a, b) => a.priority - b.priority);
  return { add, delete: remove };
}

/** `ip -batch` lines for the changes: every add before any delete. */
export function ruleCommands(changes: RuleChanges): string[] {
  return [
    ...changes.add.map((rule) => `rule add ${ruleArguments(rule)}`),
    ...changes.delete.map((rule) => `rule del ${ruleArguments(rule)}`),
  ];
}

/** Observes, diffs, applies. Returns the commands it ran (none when already right). */
export async function reconcileRules(context: NetContext, desired: RuleDesired): Promise<string[]> {
  const commands = ruleCommands(diffRules(await listRules(context), desired));
  await ipBatch(context, commands, '-4');
  return commands;
}
