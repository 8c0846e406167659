import type { RouteTableSpec } from './desired-state.ts';
import { type NetContext, NetError } from './exec.ts';
import { type IpTableRouteJson, ipBatch, listAllRoutes } from './ip.ts';
import {
  diffTable,
  routeDeleteCommands,
  routeWriteCommands,
  validateRoutes,
} from './route-reconciler.ts';

/**
 * The steering tables: every table id in `range` is ours, whether the plan names it or
 * not, so a table the plan drops is emptied and a route someone adds to any table of the
 * range is removed. One dump of all tables (`route show table all`), one `ip -batch`:
 * all adds and replaces of all tables first, then all deletes, so no table ever passes
 * through empty on its way from one next hop to another (route-reconciler.ts says how a
 * changed next hop becomes a replace).
 */

export interface RouteTablesDesired {
  tables: RouteTableSpec[];
  /** Inclusive; must leave out 0 and the kernel's tables 252 to 255. */
  range: { min: number; max: number };
  /** rtnetlink protocol of the routes we write. */
  protocol: number;
}

// RT_TABLE_UNSPEC, and RT_TABLE_COMPAT, DEFAULT, MAIN, LOCAL (rtnetlink.h): never ours.
const RESERVED_TABLES = [0, 252, 253, 254, 255];
const MAIN_TABLE = 254;
const MAX_TABLE = 0xffffffff;

function bad(reason: string): NetError {
  return new NetError('EGW_NET_BAD_ROLE', `route tables: ${reason}`);
}

const inRange = (id: number, range: RouteTablesDesired['range']) =>
  id >= range.min && id <= range.max;

/** Throws NetError EGW_NET_BAD_ROLE for a range or tables that cannot be reconciled. */
export function validateRouteTables(desired: RouteTablesDesired): void {
  const { min, max } = desired.range;
  if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1 || max > MAX_TABLE || min > max) {
    throw bad(`range ${min}-${max} is not 1 <= min <= max <= ${MAX_TABLE}`);
  }
  const reserved = RESERVED_TABLES.find((id) => inRange(id, desired.range));
  if (reserved !== undefined)
    throw bad(`range ${min}-${max} includes the kernel's table ${reserved}`);
  if (!Number.isInteger(desired.protocol) || desired.protocol < 0 || desired.protocol > 255) {
    throw bad(`protocol ${desired.protocol} is not 0-255`);
  }
  const ids = new Set<number>();
  for (const table of desired.tables) {
    if (!Number.isInteger(table.id) || !inRange(table.id, desired.range)) {
      throw bad(`table ${table.id} is outside the range ${min}-${max}`);
    }
    if (ids.has(table.id)) throw bad(`table ${table.id} is named twice`);
    ids.add(table.id);
    validateRoutes(table.id, table.routes);
  }
}

/** The table id of a dumped route; the kernel's dump leaves it out only for main. */
function tableOf(route: IpTableRouteJson): number {
  return route.table === undefined ? MAIN_TABLE : Number(route.table);
}

/** Pure: the `ip -batch` lines that bring every table of the range to the plan. */
export function routeTablesCommands(
  observed: readonly IpTableRouteJson[],
  desired: RouteTablesDesired,
): string[] {
  const present = new Map<number, IpTableRouteJson[]>();
  for (const route of observed) {
    const id = tableOf(route);
    if (!inRange(id, desired.range)) continue;
    present.set(id, [...(present.get(id) ?? []), route]);
  }
  const wanted = new Map(desired.tables.map((table) => [table.id, table.routes]));
  const ids = [...new Set([...wanted.keys(), ...present.keys()])].sort((x, y) => x - y);
  const writes: string[] = [];
  const deletes: string[] = [];
  for (const id of ids) {
    const changes = diffTable(present.get(id) ?? [], wanted.get(id) ?? []);
    writes.push(...routeWriteCommands(changes, id, desired.protocol));
    deletes.push(...routeDeleteCommands(changes, id));
  }
  return [...writes, ...deletes];
}

/** Brings every table in the range to the plan; returns the lines it ran. */
export async function reconcileRouteTables(
  context: NetContext,
  desired: RouteTablesDesired,
): Promise<string[]> {
  validateRouteTables(desired);
  const commands = routeTablesCommands(await listAllRoutes(context), desired);
  await ipBatch(context, commands, '-4');
  return commands;
}
