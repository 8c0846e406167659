import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inNamespace, NetCommandError, type NetContext, parseJsonOutput } from './exec.ts';

/**
 * Thin typed wrappers over nftables' JSON interface (libnftables-json(5)): `nft -j list
 * table` to read one table, `nft -j -f FILE` to apply a list of commands as one atomic
 * transaction. These functions only ever name the one table they are given: host/net
 * never lists or changes the rest of the ruleset.
 */

export type NftFamily = 'inet' | 'ip';

/** An element of an ipv4_addr interval set as nft lists it. */
export type NftElementJson =
  | string
  | { prefix: { addr: string; len: number } }
  | { range: [string, string] };

export interface NftSetJson {
  family: NftFamily;
  table: string;
  name: string;
  type: string;
  flags?: string[];
  elem?: NftElementJson[];
  handle?: number;
}

export interface NftChainJson {
  family: NftFamily;
  table: string;
  name: string;
  type?: string;
  hook?: string;
  prio?: number;
  policy?: string;
  handle?: number;
}

/** A statement or match of a rule; nft's JSON grammar, kept opaque here. */
export type NftStatement = Record<string, unknown>;

export interface NftRuleJson {
  family: NftFamily;
  table: string;
  chain: string;
  expr: NftStatement[];
  comment?: string;
  handle?: number;
}

/** The objects of one table, as listed. */
export interface NftTableJson {
  family: NftFamily;
  name: string;
  sets: NftSetJson[];
  chains: NftChainJson[];
  rules: NftRuleJson[];
  /** Kinds of other objects found in the table (map, counter, flowtable, ...). */
  otherObjects: string[];
}

/** One command of a transaction: `{ add: { set: {...} } }`, `{ flush: { chain: ... } }`. */
export type NftCommand = Record<string, Record<string, unknown>>;

function nftArgv(context: NetContext, args: readonly string[]): string[] {
  return inNamespace(context, ['nft', ...args]);
}

/** Lists one table, or null when it does not exist. */
export async function listTable(
  context: NetContext,
  family: NftFamily,
  name: string,
): Promise<NftTableJson | null> {
  const argv = nftArgv(context, ['-j', 'list', 'table', family, name]);
  let stdout: string;
  try {
    ({ stdout } = await context.exec(argv));
  } catch (error) {
    // ENOENT from the kernel is how nft says "no such table".
    if (error instanceof NetCommandError && /No such file or directory/.test(error.stderr)) {
      return null;
    }
    throw error;
  }
  const document = parseJsonOutput(argv, stdout) as { nftables?: unknown };
  if (!Array.isArray(document?.nftables)) {
    throw new NetCommandError('EGW_NET_BAD_OUTPUT', argv, 0, '', 'no "nftables" array');
  }
  const table: NftTableJson = { family, name, sets: [], chains: [], rules: [], otherObjects: [] };
  for (const item of document.nftables as Record<string, unknown>[]) {
    if (typeof item !== 'object' || item === null) continue;
    if ('set' in item) table.sets.push(item['set'] as NftSetJson);
    else if ('chain' in item) table.chains.push(item['chain'] as NftChainJson);
    else if ('rule' in item) {
      const rule = item['rule'] as NftRuleJson;
      if (!Array.isArray(rule.expr)) {
        throw new NetCommandError('EGW_NET_BAD_OUTPUT', argv, 0, '', 'a rule has no expr');
      }
      table.rules.push(rule);
    } else {
      const kind = Object.keys(item)[0];
      if (kind !== undefined && kind !== 'metainfo' && kind !== 'table') {
        table.otherObjects.push(kind);
      }
    }
  }
  return table;
}

/**
 * Applies the commands as one transaction: all of them take effect, or none. The JSON
 * goes through a private temporary file: `nft -f -` opens /dev/stdin, which fails on the
 * socket pair Node gives a child as stdin, and a command-line argument is capped at
 * 128 KiB (MAX_ARG_STRLEN), a few thousand set elements.
 */
export async function applyNft(
  context: NetContext,
  commands: readonly NftCommand[],
): Promise<void> {
  if (commands.length === 0) return;
  const directory = await mkdtemp(join(tmpdir(), 'egressgw-nft-'));
  try {
    const file = join(directory, 'transaction.json');
    await writeFile(file, JSON.stringify({ nftables: commands }), { mode: 0o600 });
    await context.exec(nftArgv(context, ['-j', '-f', file]));
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}
