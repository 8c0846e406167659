import { formatCidr, parseCidr } from '../model/cidr.ts';
import type { RouteSpec } from './desired-state.ts';
import type { NetContext } from './exec.ts';
import { type IpRouteJson, ipBatch, listRoutes } from './ip.ts';

/**
 * The dedicated routing table: every route in it is ours, so anything there that the plan
 * does not name is removed, whoever added it.
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
  metric: number;
  /** Set when the route has a field that desired routes never have. */
  gateway?: string;
}

export function normalizeRoute(json: IpRouteJson): ObservedRoute {
  const type = json.type === undefined ? 'unicast' : (ROUTE_TYPES[json.type] ?? json.type);
  const dst = json.dst === 'default' ? 'default' : formatCidr(parseCidr(json.dst));
  const route: ObservedRoute = { type, dst, metric: json.metric ?? 0 };
  if (json.dev !== undefined) route.dev = json.dev;
  if (json.gateway !== undefined) route.gateway = json.gateway;
  return route;
}

export function routeKey(route: RouteSpec | ObservedRoute): string {
  const gateway = 'gateway' in route ? route.gateway : undefined;
  return JSON.stringify([route.type, route.dst, route.dev ?? null, route.metric, gateway ?? null]);
}

export interface RouteChanges {
  add: RouteSpec[];
  delete: ObservedRoute[];
}

/** Pure: what to change so that the table holds exactly the desired routes. */
export function diffRoutes(observed: readonly IpRouteJson[], desired: RouteDesired): RouteChanges {
  const wanted = new Map(desired.routes.map((route) => [routeKey(route), route]));
  const present = new Set<string>();
  const remove: ObservedRoute[] = [];
  for (const json of observed) {
    const route = normalizeRoute(json);
    const key = routeKey(route);
    if (wanted.has(key) && !present.has(key)) present.add(key);
    else remove.push(route);
  }
  const add = [...wanted.entries()].filter(([key]) => !present.has(key)).map(([, route]) => route);
  return { add, delete: remove };
}

function routeArguments(route: RouteSpec | ObservedRoute, tableId: number): string {
  // A type iproute2 has no name for is left out: `route del` then matches any type.
  const known = Object.values(ROUTE_TYPES).includes(route.type);
  const parts = known ? [route.type, route.dst] : [route.dst];
  if (route.dev !== undefined) parts.push(`dev ${route.dev}`);
  if ('gateway' in route && route.gateway !== undefined) parts.push(`via ${route.gateway}`);
  parts.push(`table ${tableId}`, `metric ${route.metric}`);
  return parts.join(' ');
}

/** `ip -batch` lines: adds first, so a replaced route never leaves the table empty. */
export function routeCommands(changes: RouteChanges, desired: RouteDesired): string[] {
  return [
    ...changes.add.map(
      (route) => `route add ${routeArguments(route, desired.tableId)} proto ${desired.protocol}`,
    ),
    ...changes.delete.map((route) => `route del ${routeArguments(route, desired.tableId)}`),
  ];
}

export async function reconcileRoutes(
  context: NetContext,
  desired: RouteDesired,
): Promise<string[]> {
  const observed = await listRoutes(context, desired.tableId);
  const commands = routeCommands(diffRoutes(observed, desired), desired);
  await ipBatch(context, commands, '-4');
  return commands;
}
