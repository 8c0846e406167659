import { formatCidr, formatIPv4, parseCidr } from '../model/cidr.ts';
import type { NftChainSpec, NftSetSpec, NftTableSpec } from './desired-state.ts';
import type { NetContext } from './exec.ts';
import {
  applyNft,
  listTable,
  type NftChainJson,
  type NftCommand,
  type NftElementJson,
  type NftSetJson,
  type NftTableJson,
} from './nft.ts';

/**
 * Our nftables table, and nothing else: every command names `inet <table>`.
 *
 * The difference is taken per object: set elements one by one (a pod joining is one
 * element added), chains as a whole (a chain holds a handful of rules; when its list of
 * rule comments differs, it is flushed and refilled). All of it goes into one `nft -f`
 * transaction, so the kernel switches from the old state to the new one atomically and
 * no packet sees a half-written chain. A table holding objects we never create (maps,
 * counters) is rebuilt whole, in the same single transaction.
 */

const SET_TYPE = 'ipv4_addr';
const SET_FLAGS = ['interval'];

type Ref = { family: 'inet'; table: string };

/** A comparable key for an element as listed; ranges stay ranges (deleted as listed). */
function elementKey(element: NftElementJson): string {
  if (typeof element === 'string') return formatCidr(parseCidr(element));
  if ('prefix' in element)
    return formatCidr(parseCidr(`${element.prefix.addr}/${element.prefix.len}`));
  return `${element.range[0]}-${element.range[1]}`;
}

function elementOf(cidr: string): NftElementJson {
  const { network, prefixLength } = parseCidr(cidr);
  const addr = formatIPv4(network);
  return prefixLength === 32 ? addr : { prefix: { addr, len: prefixLength } };
}

function sameSetShape(observed: NftSetJson): boolean {
  const flags = [...(observed.flags ?? [])].sort();
  return observed.type === SET_TYPE && JSON.stringify(flags) === JSON.stringify(SET_FLAGS);
}

function sameChainShape(observed: NftChainJson, spec: NftChainSpec): boolean {
  return (
    observed.type === spec.type &&
    observed.hook === spec.hook &&
    observed.prio === spec.prio &&
    observed.policy === spec.policy
  );
}

function addSet(ref: Ref, set: NftSetSpec): NftCommand[] {
  const commands: NftCommand[] = [
    { add: { set: { ...ref, name: set.name, type: SET_TYPE, flags: SET_FLAGS } } },
  ];
  if (set.elements.length > 0) {
    commands.push({
      add: { element: { ...ref, name: set.name, elem: set.elements.map(elementOf) } },
    });
  }
  return commands;
}

function addChain(ref: Ref, chain: NftChainSpec): NftCommand {
  const { name, type, hook, prio, policy } = chain;
  return { add: { chain: { ...ref, name, type, hook, prio, policy } } };
}

function addRules(ref: Ref, chain: NftChainSpec): NftCommand[] {
  return chain.rules.map((rule) => ({
    add: { rule: { ...ref, chain: chain.name, comment: rule.comment, expr: rule.expr } },
  }));
}

function buildTable(spec: NftTableSpec): NftCommand[] {
  const ref: Ref = { family: spec.family, table: spec.name };
  return [
    { add: { table: { family: spec.family, name: spec.name } } },
    ...spec.sets.flatMap((set) => addSet(ref, set)),
    ...spec.chains.map((chain) => addChain(ref, chain)),
    ...spec.chains.flatMap((chain) => addRules(ref, chain)),
  ];
}

/** Element changes of one set: deletes first (an interval set refuses overlaps). */
function elementCommands(ref: Ref, observed: NftSetJson, spec: NftSetSpec): NftCommand[] {
  const wanted = new Set(spec.elements.map((cidr) => formatCidr(parseCidr(cidr))));
  const present = new Set<string>();
  const stale: NftElementJson[] = [];
  for (const element of observed.elem ?? []) {
    const key = elementKey(element);
    if (wanted.has(key) && !present.has(key)) present.add(key);
    else stale.push(element);
  }
  const missing = [...wanted].filter((cidr) => !present.has(cidr));
  const commands: NftCommand[] = [];
  if (stale.length > 0)
    commands.push({ delete: { element: { ...ref, name: spec.name, elem: stale } } });
  if (missing.length > 0) {
    commands.push({ add: { element: { ...ref, name: spec.name, elem: missing.map(elementOf) } } });
  }
  return commands;
}

/**
 * Pure: the transaction that turns `observed` into `desired` (null = no table). Empty when
 * they already agree.
 */
export function diffNft(observed: NftTableJson | null, desired: NftTableSpec | null): NftCommand[] {
  if (desired === null) {
    return observed === null
      ? []
      : [{ delete: { table: { family: observed.family, name: observed.name } } }];
  }
  if (observed === null) return buildTable(desired);
  const ref: Ref = { family: desired.family, table: desired.name };
  if (observed.otherObjects.length > 0) {
    return [
      { delete: { table: { family: desired.family, name: desired.name } } },
      ...buildTable(desired),
    ];
  }

  const observedSets = new Map(observed.sets.map((set) => [set.name, set]));
  const desiredSets = new Set(desired.sets.map((set) => set.name));
  const reshapedSets = desired.sets.filter((set) => {
    const found = observedSets.get(set.name);
    return found !== undefined && !sameSetShape(found);
  });
  const extraSets = observed.sets.filter((set) => !desiredSets.has(set.name));

  const observedChains = new Map(observed.chains.map((chain) => [chain.name, chain]));
  const commentsOf = (chain: string) =>
    observed.rules.filter((rule) => rule.chain === chain).map((rule) => rule.comment ?? '');
  // Rules still referencing a set keep it from being deleted: when sets go or change
  // shape, every chain is refilled (flushed first, in the same transaction).
  const refillAll = reshapedSets.length > 0 || extraSets.length > 0;
  const refill = desired.chains.filter((chain) => {
    const found = observedChains.get(chain.name);
    if (found === undefined) return true;
    if (refillAll || !sameChainShape(found, chain)) return true;
    const comments = commentsOf(chain.name);
    return JSON.stringify(comments) !== JSON.stringify(chain.rules.map((rule) => rule.comment));
  });

  const commands: NftCommand[] = [];
  for (const chain of observed.chains) {
    const spec = desired.chains.find((candidate) => candidate.name === chain.name);
    const goes = spec === undefined || !sameChainShape(chain, spec);
    if (goes || refill.includes(spec)) {
      commands.push({ flush: { chain: { ...ref, name: chain.name } } });
    }
    // A base chain's hook and priority cannot be changed in place.
    if (goes) commands.push({ delete: { chain: { ...ref, name: chain.name } } });
  }
  for (const set of [...extraSets, ...reshapedSets]) {
    commands.push({ delete: { set: { ...ref, name: set.name } } });
  }
  for (const set of desired.sets) {
    const found = observedSets.get(set.name);
    if (found === undefined || reshapedSets.includes(set)) commands.push(...addSet(ref, set));
    else commands.push(...elementCommands(ref, found, set));
  }
  for (const chain of refill) {
    const found = observedChains.get(chain.name);
    if (found === undefined || !sameChainShape(found, chain)) commands.push(addChain(ref, chain));
    commands.push(...addRules(ref, chain));
  }
  return commands;
}

/** A short description of a command for logs and tests ("add element src_x"). */
export function describeNftCommand(command: NftCommand): string {
  const [verb, body] = Object.entries(command)[0]!;
  const [kind, object] = Object.entries(body)[0]! as [string, Record<string, unknown>];
  const name = object['name'] ?? object['chain'] ?? '';
  const count = Array.isArray(object['elem']) ? ` (${object['elem'].length})` : '';
  return `${verb} ${kind} ${String(name)}${count}`.trim();
}

export async function reconcileNft(
  context: NetContext,
  tableName: string,
  desired: NftTableSpec | null,
): Promise<string[]> {
  const observed = await listTable(context, 'inet', tableName);
  const commands = diffNft(observed, desired);
  await applyNft(context, commands);
  return commands.map(describeNftCommand);
}
