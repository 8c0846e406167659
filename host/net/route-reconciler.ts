import { CidrError, formatCidr, parseCidr, parseIPv4 } from '../model/cidr.ts';
import type { RouteSpec } from './desired-state.ts';
import { type NetContext, NetError } from './exec.ts';
import { type IpRouteJson, ipBatch, listRoutes } from './ip.ts';

/**
 * Routing tables of ours: every route in them is ours, so anything there that the plan
 * does not name is removed, whoever added it. This file diffs one table; the dedicated
 * gateway table (reconcileRoutes) and the steering tables (route-tables-reconciler.ts)
 * both use it.
 *
 * Within a table the kernel identifies a route by its slot: destination, TOS and metric
 * (fib_table_insert). A second route in an occupied slot is refused (`route add`: EEXIST),
 * whatever its next hop, and `route replace` rewrites the first route of the slot. So a
 * desired route that is not present exactly is added when its slot is empty and replaced
 * into the slot otherwise (`default via A onlink` → `default via B onlink` is one
 * replace, and the table never lacks a default route); what remains unwanted is deleted
 * after all adds and replaces. Desired routes of one table must have distinct slots.
 */

// rtnetlink route types (RTN_*), as `ip -N` prints them.
const ROUTE_TYPES: Record<string, string> = {
  '1': 'unicast',
  '2': 'local',
  '3': 'broadcast',
  '4': 'anycast',
  '5': 'multicast',
  '6': 'blackhole',
  '7': 'unreachable',
  '8': 'prohibit',
  '9': 'throw',
};

// Fields of `ip -j route` output that desired routes never have: a route carrying one is
// never the desired route, and is replaced or deleted.
const FOREIGN_FIELDS = ['nexthops', 'nhid', 'prefsrc', 'realms', 'expires'];

export interface RouteDesired {
  tableId: number;
  protocol: number;
  routes: RouteSpec[];
}

/** An observed route in a comparable form; `type` may be one we never create. */
export interface ObservedRoute {
  type: string;
  dst: string;
  dev?: string;
  via?: string;
  /** Only when the kernel reports the flag. */
  onlink?: true;
  metric: number;
  /** Part of the route's slot; desired routes never have one ("0x10"). */
  tos?: string;
  /** FOREIGN_FIELDS the route has, in that order. */
  other?: string[];
}

export function normalizeRoute(json: IpRouteJson): ObservedRoute {
  const type = json.type === undefined ? 'unicast' : (ROUTE_TYPES[json.type] ?? json.type);
  const dst = json.dst === 'default' ? 'default' : formatCidr(parseCidr(json.dst));
  const route: ObservedRoute = { type, dst, metric: json.metric ?? 0 };
  if (json.dev !== undefined) route.dev = json.dev;
  if (json.gateway !== undefined) route.via = json.gateway;
  if (Array.isArray(json['flags']) && json['flags'].includes('onlink')) route.onlink = true;
  if (json['tos'] !== undefined && json['tos'] !== '0' && json['tos'] !== 0) {
    route.tos = String(json['tos']);
  }
  const other = FOREIGN_FIELDS.filter((field) => json[field] !== undefined);
  if (other.length > 0) route.other = other;
  return route;
}

/** Everything that makes two routes the same route. */
export function routeKey(route: RouteSpec | ObservedRoute): string {
  const observed = route as ObservedRoute;
  return JSON.stringify([
    route.type,
    route.dst,
    route.dev ?? null,
    route.via ?? null,
    route.onlink === true,
    route.metric,
    observed.tos ?? null,
    observed.other ?? [],
  ]);
}

/** The kernel's identity of a route within its table (see the file comment). */
export function routeSlot(route: RouteSpec | ObservedRoute): string {
  return JSON.stringify([route.dst, (route as ObservedRoute).tos ?? null, route.metric]);
}

function badRoute(tableId: number, route: RouteSpec, reason: string): NetError {
  return new NetError('EGW_NET_BAD_ROLE', `table ${tableId}: route ${route.dst}: ${reason}`);
}

function isCanonicalDst(dst: string): boolean {
  if (dst === 'default') return true;
  try {
    // "0.0.0.0/0" is spelled "default" by the kernel, and would never compare equal.
    return dst.includes('/') && formatCidr(parseCidr(dst)) === dst && !dst.endsWith('/0');
  } catch (error) {
    if (error instanceof CidrError) return false;
    throw error;
  }
}

/**
 * Throws NetError EGW_NET_BAD_ROLE for routes that could never be read back as
 * themselves (the reconcile would change them forever) or that share a slot.
 */
export function validateRoutes(tableId: number, routes: readonly RouteSpec[]): void {
  const slots = new Set<string>();
  for (const route of routes) {
    if (!isCanonicalDst(route.dst)) throw badRoute(tableId, route, 'not "default" or a.b.c.d/n');
    if (!Number.isInteger(route.metric) || route.metric < 0 || route.metric > 0xffffffff) {
      throw badRoute(tableId, route, `metric ${route.metric} is not a u32`);
    }
    if (route.via !== undefined) {
      try {
        parseIPv4(route.via);
      } catch {
        throw badRoute(tableId, route, `via ${route.via} is not an IPv4 address`);
      }
      // The kernel reports the device it resolved; without one the route never matches.
      if (route.dev === undefined) throw badRoute(tableId, route, 'a next hop needs a dev');
      if (route.type !== 'unicast') throw badRoute(tableId, route, `${route.type} with a via`);
    }
    if (route.onlink === true && route.via === undefined) {
      throw badRoute(tableId, route, 'onlink without a next hop');
    }
    const slot = routeSlot(route);
    if (slots.has(slot)) {
      throw badRoute(
        tableId,
        route,
        `two routes with metric ${route.metric} (the kernel keeps one)`,
      );
    }
    slots.add(slot);
  }
}

export interface RouteChanges {
  add: RouteSpec[];
  /** Desired routes written over the first route of their occupied slot. */
  replace: RouteSpec[];
  delete: ObservedRoute[];
}

/** Pure: what to change so that one table holds exactly `routes`. */
export function diffTable(
  observed: readonly IpRouteJson[],
  routes: readonly RouteSpec[],
): RouteChanges {
  const present = observed.map(normalizeRoute);
  const kept = new Set<ObservedRoute>();
  const changes: RouteChanges = { add: [], replace: [], delete: [] };
  for (const route of routes) {
    const slot = present.filter((other) => routeSlot(other) === routeSlot(route));
    const same = slot.find((other) => routeKey(other) === routeKey(route) && !kept.has(other));
    if (same !== undefined) {
      kept.add(same);
    } else if (slot.length > 0) {
      // The kernel rewrites the first route of the slot, in dump order.
      kept.add(slot[0]!);
      changes.replace.push(route);
    } else {
      changes.add.push(route);
    }
  }
  changes.delete = present.filter((route) => !kept.has(route));
  return changes;
}

/** Pure: what to change so that the gateway table holds exactly the desired routes. */
export function diffRoutes(observed: readonly IpRouteJson[], desired: RouteDesired): RouteChanges {
  return diffTable(observed, desired.routes);
}

function routeArguments(route: RouteSpec | ObservedRoute, tableId: number): string {
  // A type iproute2 has no name for is left out: `route del` then matches any type.
  const known = Object.values(ROUTE_TYPES).includes(route.type);
  const parts = known ? [route.type, route.dst] : [route.dst];
  if (route.dev !== undefined) parts.push(`dev ${route.dev}`);
  if (route.via !== undefined) parts.push(`via ${route.via}`);
  if (route.onlink === true) parts.push('onlink');
  // Without it `route del` takes any TOS, possibly ours.
  const tos = (route as ObservedRoute).tos;
  if (tos !== undefined) parts.push(`tos ${tos}`);
  parts.push(`table ${tableId}`, `metric ${route.metric}`);
  return parts.join(' ');
}

/** `ip -batch` lines that add and replace; they run before every delete. */
export function routeWriteCommands(
  changes: RouteChanges,
  tableId: number,
  protocol: number,
): string[] {
  return [
    ...changes.add.map((route) => `route add ${routeArguments(route, tableId)} proto ${protocol}`),
    ...changes.replace.map(
      (route) => `route replace ${routeArguments(route, tableId)} proto ${protocol}`,
    ),
  ];
}

/** `ip -batch` lines that delete. */
export function routeDeleteCommands(changes: RouteChanges, tableId: number): string[] {
  return changes.delete.map((route) => `route del ${routeArguments(route, tableId)}`);
}

/** `ip -batch` lines: adds and replaces first, so a changed route never leaves a gap. */
export function routeCommands(changes: RouteChanges, desired: RouteDesired): string[] {
  return [
    ...routeWriteCommands(changes, desired.tableId, desired.protocol),
    ...routeDeleteCommands(changes, desired.tableId),
  ];
}

export async function reconcileRoutes(
  context: NetContext,
  desired: RouteDesired,
): Promise<string[]> {
  validateRoutes(desired.tableId, desired.routes);
  const observed = await listRoutes(context, desired.tableId);
  const commands = routeCommands(diffRoutes(observed, desired), desired);
  await ipBatch(context, commands, '-4');
  return commands;
}
