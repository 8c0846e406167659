import { NetCommandError, type NetContext, parseJsonOutput } from './exec.ts';

/**
 * Thin typed wrappers over iproute2's JSON interface. Reads use `ip -json`; every change
 * goes through one `ip -batch -` per reconcile, so a reconcile is one process however
 * many objects it touches. `-N` (numeric) makes tables, protocols, scopes and route types
 * print as numbers, independent of the names in /etc/iproute2/rt_*; `-d` makes `ip rule`
 * print the protocol of the kernel's own rules.
 */

/** One entry of `ip -4 -N -d -j rule show`; only the fields host/net reads are typed. */
export interface IpRuleJson {
  priority: number;
  src?: string;
  srclen?: number;
  dst?: string;
  dstlen?: number;
  iif?: string;
  oif?: string;
  fwmark?: string;
  fwmask?: string;
  /** "tcp" by name, "ipproto-6" under -N in iproute2 6.1, or a number. */
  ipproto?: string | number;
  dport?: number;
  dport_start?: number;
  dport_end?: number;
  table?: string;
  goto?: number;
  protocol?: string;
  [field: string]: unknown;
}

/** One entry of `ip -4 -N -d -j route show table N`. */
export interface IpRouteJson {
  /** Numeric under -N: "1" unicast, "7" unreachable. */
  type?: string;
  dst: string;
  dev?: string;
  gateway?: string;
  metric?: number;
  protocol?: string;
  scope?: string;
  [field: string]: unknown;
}

export interface IpAddressJson {
  family: string;
  local: string;
  prefixlen: number;
  [field: string]: unknown;
}

/** One entry of `ip -j addr show dev NAME`: the link and its addresses. */
export interface IpLinkJson {
  ifname: string;
  ifindex: number;
  flags: string[];
  mtu: number;
  addr_info: IpAddressJson[];
  [field: string]: unknown;
}

function ipArgv(context: NetContext, args: readonly string[]): string[] {
  return context.netns === null ? ['ip', ...args] : ['ip', '-n', context.netns, ...args];
}

function badOutput(argv: readonly string[], reason: string): NetCommandError {
  return new NetCommandError('EGW_NET_BAD_OUTPUT', argv, 0, '', reason);
}

function objectList(argv: readonly string[], stdout: string): Record<string, unknown>[] {
  // `ip -j` prints nothing at all for an empty table on some versions.
  const value = stdout.trim() === '' ? [] : parseJsonOutput(argv, stdout);
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'object' && item !== null)) {
    throw badOutput(argv, 'expected a JSON array of objects');
  }
  return value as Record<string, unknown>[];
}

async function list(context: NetContext, args: readonly string[]) {
  const argv = ipArgv(context, args);
  const { stdout } = await context.exec(argv);
  return { argv, items: objectList(argv, stdout) };
}

/** Every IPv4 policy rule, in the kernel's order. */
export async function listRules(context: NetContext): Promise<IpRuleJson[]> {
  const { argv, items } = await list(context, ['-4', '-N', '-d', '-j', 'rule', 'show']);
  for (const item of items) {
    if (typeof item['priority'] !== 'number') throw badOutput(argv, 'a rule has no priority');
  }
  return items as IpRuleJson[];
}

/** Every IPv4 route of one table (all types: unicast, unreachable, ...). */
export async function listRoutes(context: NetContext, table: number): Promise<IpRouteJson[]> {
  const args = ['-4', '-N', '-d', '-j', 'route', 'show', 'table', String(table)];
  let result: { argv: string[]; items: Record<string, unknown>[] };
  try {
    result = await list(context, args);
  } catch (error) {
    // A table with no routes does not exist for the kernel: "FIB table does not exist".
    if (error instanceof NetCommandError && /table does not exist/.test(error.stderr)) return [];
    throw error;
  }
  const { argv, items } = result;
  for (const item of items) {
    if (typeof item['dst'] !== 'string') throw badOutput(argv, 'a route has no dst');
  }
  return items as IpRouteJson[];
}

/**
 * One link of `ip -j [FLAGS] addr show dev NAME` as listed, or null when no device has
 * that name (iproute2's only way to say so: `Device "x" does not exist.`).
 */
async function readLink(
  context: NetContext,
  name: string,
  flags: readonly string[],
): Promise<{ argv: string[]; link: Record<string, unknown> } | null> {
  let result: { argv: string[]; items: Record<string, unknown>[] };
  try {
    result = await list(context, [...flags, '-j', 'addr', 'show', 'dev', name]);
  } catch (error) {
    if (error instanceof NetCommandError && /does not exist/.test(error.stderr)) return null;
    throw error;
  }
  const link = result.items[0];
  if (
    result.items.length !== 1 ||
    link === undefined ||
    typeof link['mtu'] !== 'number' ||
    !Array.isArray(link['flags'])
  ) {
    throw badOutput(result.argv, `expected one link named ${name}`);
  }
  return {
    argv: result.argv,
    link: { ...link, addr_info: Array.isArray(link['addr_info']) ? link['addr_info'] : [] },
  };
}

/** The link and its addresses, or null when no device has that name. */
export async function showLink(context: NetContext, name: string): Promise<IpLinkJson | null> {
  return ((await readLink(context, name, []))?.link as IpLinkJson | undefined) ?? null;
}

/** Every link with its IPv4 addresses (`ip -j -4 addr show`); links without any are left out. */
export async function listIPv4Links(context: NetContext): Promise<IpLinkJson[]> {
  const { items } = await list(context, ['-j', '-4', 'addr', 'show']);
  // Some iproute2 versions print `{}` for each link the -4 filter drops.
  return items.filter(
    (item) => typeof item['mtu'] === 'number' && Array.isArray(item['addr_info']),
  ) as IpLinkJson[];
}

/**
 * Runs `ip -batch -` with one command per line (without the leading `ip`). iproute2 stops
 * at the first failing line; the error's stderr names it ("Command failed -:N").
 */
export async function ipBatch(
  context: NetContext,
  lines: readonly string[],
  family: '-4' | null = null,
): Promise<void> {
  if (lines.length === 0) return;
  for (const line of lines) {
    if (line.includes('\n')) throw new Error(`ip batch line contains a newline: ${line}`);
  }
  const options = family === null ? ['-batch', '-'] : [family, '-batch', '-'];
  await context.exec(ipArgv(context, options), { input: `${lines.join('\n')}\n` });
}

/** `ip -d -j addr show dev NAME`: the link, its addresses, its kind and its alias. */
export interface IpLinkDetailsJson extends IpLinkJson {
  /** The link-layer address ("0e:77:c0:a8:4d:0b"). */
  address?: string;
  /** Absent until someone sets one; never an empty string (setting "" removes it). */
  ifalias?: string;
  linkinfo?: { info_kind?: string; info_data?: Record<string, unknown> };
}

/** Like showLink, with `-d`: the link's kind (`linkinfo`) and `ifalias` come along. */
export async function showLinkDetails(
  context: NetContext,
  name: string,
): Promise<IpLinkDetailsJson | null> {
  const read = await readLink(context, name, ['-d']);
  if (read === null) return null;
  const linkinfo = read.link['linkinfo'];
  if (linkinfo !== undefined && (typeof linkinfo !== 'object' || linkinfo === null)) {
    throw badOutput(read.argv, `linkinfo of ${name} is not an object`);
  }
  return read.link as IpLinkDetailsJson;
}

/** One entry of `ip -j neigh show dev NAME` (the device is implied by the filter). */
export interface IpNeighbourJson {
  /** IPv4 or IPv6 address. */
  dst: string;
  /** Absent for entries that never resolved (FAILED, INCOMPLETE). */
  lladdr?: string;
  /** Upper-case NUD states, e.g. ["PERMANENT"], ["STALE"]. */
  state: string[];
  [field: string]: unknown;
}

/**
 * The neighbour entries of one device, both families. iproute2's default filter leaves
 * out NOARP entries, which the kernel creates for multicast and broadcast destinations.
 */
export async function listNeighbours(context: NetContext, dev: string): Promise<IpNeighbourJson[]> {
  const { argv, items } = await list(context, ['-j', 'neigh', 'show', 'dev', dev]);
  for (const item of items) {
    if (typeof item['dst'] !== 'string' || !Array.isArray(item['state'])) {
      throw badOutput(argv, 'a neighbour entry has no dst or state');
    }
  }
  return items as IpNeighbourJson[];
}

/** A route of `ip -4 -N -d -j route show table all`, which names its table. */
export interface IpTableRouteJson extends IpRouteJson {
  /**
   * The table id, a decimal string under -N. Printed for every table, main (254) included,
   * because of -d; a route without it is read as main.
   */
  table?: string;
}

/** Every IPv4 route of every table, in one dump. */
export async function listAllRoutes(context: NetContext): Promise<IpTableRouteJson[]> {
  const args = ['-4', '-N', '-d', '-j', 'route', 'show', 'table', 'all'];
  const { argv, items } = await list(context, args);
  for (const item of items) {
    if (typeof item['dst'] !== 'string') throw badOutput(argv, 'a route has no dst');
    if (item['table'] !== undefined && !/^[0-9]+$/.test(String(item['table']))) {
      throw badOutput(argv, `a route has a non-numeric table ${String(item['table'])}`);
    }
  }
  return items as IpTableRouteJson[];
}

/**
 * ipBatch, except that a failure names the failing line: NetCommandError.command is that
 * line as an `ip` argv (iproute2 itself only says "Command failed -:N" on stderr), with
 * the exit status and stderr of the batch. Lines before it have taken effect.
 */
export async function ipBatchNamingFailures(
  context: NetContext,
  lines: readonly string[],
): Promise<void> {
  try {
    await ipBatch(context, lines);
  } catch (error) {
    if (!(error instanceof NetCommandError)) throw error;
    const failed = /Command failed -:([0-9]+)/.exec(error.stderr);
    const index = failed === null ? -1 : Number(failed[1]) - 1;
    const line = lines[index];
    if (line === undefined) throw error;
    const how = error.exitCode === null ? 'killed' : `exit status ${error.exitCode}`;
    throw new NetCommandError(
      error.code,
      ipArgv(context, line.split(' ')),
      error.exitCode,
      error.stderr,
      `${how} (line ${index + 1} of a batch)`,
    );
  }
}
