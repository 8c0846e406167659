import { describe, expect, it } from 'vitest';
import { NetCommandError } from './exec.ts';
import { fakeExec } from './fake-exec.ts';
import { fixturePlan } from './fixture-plan.ts';
import routeTableSteering from './fixtures/route-table-steering.json' with { type: 'json' };
import routesApplied from './fixtures/routes-applied.json' with { type: 'json' };
import type { IpRouteJson } from './ip.ts';
import {
  diffRoutes,
  normalizeRoute,
  type RouteDesired,
  reconcileRoutes,
  routeCommands,
  validateRoutes,
} from './route-reconciler.ts';

const plan = fixturePlan();
const desired: RouteDesired = {
  tableId: plan.tableId,
  protocol: plan.routeProtocol,
  routes: plan.routes,
};
const applied = routesApplied as IpRouteJson[];

describe('diffRoutes', () => {
  it('reads the recorded table back as exactly the plan', () => {
    expect(applied.map(normalizeRoute)).toEqual([
      { type: 'unicast', dst: 'default', dev: 'tun0', metric: 0 },
      { type: 'unreachable', dst: 'default', metric: 0xfffffffe },
    ]);
    expect(diffRoutes(applied, desired)).toEqual({ add: [], replace: [], delete: [] });
  });

  it('fills an empty table, TUN route first', () => {
    expect(routeCommands(diffRoutes([], desired), desired)).toEqual([
      'route add unicast default dev tun0 table 7777 metric 0 proto 158',
      'route add unreachable default table 7777 metric 4294967294 proto 158',
    ]);
  });

  it('removes whatever else is in our table, whoever put it there', () => {
    const foreign: IpRouteJson[] = [
      { type: '1', dst: '203.0.113.0/24', gateway: '192.0.2.1', dev: 'up0' },
      { type: '6', dst: '198.51.100.7', metric: 5 },
      { type: '1', dst: 'default', dev: 'eth9' },
    ];
    expect(routeCommands(diffRoutes([...applied, ...foreign], desired), desired)).toEqual([
      'route del unicast 203.0.113.0/24 dev up0 via 192.0.2.1 table 7777 metric 0',
      'route del blackhole 198.51.100.7/32 table 7777 metric 5',
      'route del unicast default dev eth9 table 7777 metric 0',
    ]);
  });

  it('empties the table on teardown', () => {
    const none = { ...desired, routes: [] };
    expect(routeCommands(diffRoutes(applied, none), none)).toEqual([
      'route del unicast default dev tun0 table 7777 metric 0',
      'route del unreachable default table 7777 metric 4294967294',
    ]);
  });
});

describe('routes with a next hop', () => {
  // Recorded: `default via 192.168.77.12 dev egw0 onlink` and `unreachable default`.
  const recorded = routeTableSteering as IpRouteJson[];
  const steering = (via: string): RouteDesired => ({
    tableId: 1000,
    protocol: 159,
    routes: [
      { type: 'unicast', dst: 'default', dev: 'egw0', via, onlink: true, metric: 0 },
      { type: 'unreachable', dst: 'default', metric: 0xfffffffe },
    ],
  });

  it('reads the gateway and the onlink flag', () => {
    expect(recorded.map(normalizeRoute)).toEqual([
      {
        type: 'unicast',
        dst: 'default',
        dev: 'egw0',
        via: '192.168.77.12',
        onlink: true,
        metric: 0,
      },
      { type: 'unreachable', dst: 'default', metric: 0xfffffffe },
    ]);
    expect(diffRoutes(recorded, steering('192.168.77.12'))).toEqual({
      add: [],
      replace: [],
      delete: [],
    });
  });

  it('adds a route with a next hop to an empty table', () => {
    const desired = steering('192.168.77.12');
    expect(routeCommands(diffRoutes([], desired), desired)).toEqual([
      'route add unicast default dev egw0 via 192.168.77.12 onlink table 1000 metric 0 proto 159',
      'route add unreachable default table 1000 metric 4294967294 proto 159',
    ]);
  });

  it('replaces a changed next hop in its slot: a second add would be EEXIST', () => {
    const desired = steering('192.168.77.13');
    expect(routeCommands(diffRoutes(recorded, desired), desired)).toEqual([
      'route replace unicast default dev egw0 via 192.168.77.13 onlink table 1000 metric 0 proto 159',
    ]);
  });

  it('replaces a route that lost its onlink flag or gained a preferred source', () => {
    const desired = steering('192.168.77.12');
    const changed = [
      { ...recorded[0]!, flags: [] },
      { ...recorded[1]!, prefsrc: '192.0.2.1' },
    ];
    expect(routeCommands(diffRoutes(changed, desired), desired)).toEqual([
      'route replace unicast default dev egw0 via 192.168.77.12 onlink table 1000 metric 0 proto 159',
      'route replace unreachable default table 1000 metric 4294967294 proto 159',
    ]);
  });

  it('replaces the first route of a crowded slot and deletes the rest after it', () => {
    // `ip route append` puts a second route into an occupied slot.
    const appended: IpRouteJson[] = [
      { type: '1', dst: 'default', gateway: '192.168.77.20', dev: 'egw0', flags: ['onlink'] },
      { type: '1', dst: 'default', gateway: '192.168.77.21', dev: 'egw0', flags: ['onlink'] },
      recorded[1]!,
    ];
    const desired = steering('192.168.77.12');
    expect(routeCommands(diffRoutes(appended, desired), desired)).toEqual([
      'route replace unicast default dev egw0 via 192.168.77.12 onlink table 1000 metric 0 proto 159',
      'route del unicast default dev egw0 via 192.168.77.21 onlink table 1000 metric 0',
    ]);
    // The desired route already present later in the slot is kept, the others go.
    const later = [appended[0]!, recorded[0]!, recorded[1]!];
    expect(routeCommands(diffRoutes(later, desired), desired)).toEqual([
      'route del unicast default dev egw0 via 192.168.77.20 onlink table 1000 metric 0',
    ]);
  });

  it('deletes routes that are never desired: other TOS, multipath', () => {
    const foreign: IpRouteJson[] = [
      {
        type: '1',
        dst: 'default',
        tos: '0x10',
        gateway: '192.168.77.12',
        dev: 'egw0',
        flags: ['onlink'],
      },
      {
        type: '1',
        dst: '10.5.0.0/16',
        metric: 3,
        nexthops: [
          { gateway: '10.0.0.2', dev: 'd0' },
          { gateway: '10.0.0.3', dev: 'd0' },
        ],
      },
    ];
    const desired = steering('192.168.77.12');
    expect(routeCommands(diffRoutes([...recorded, ...foreign], desired), desired)).toEqual([
      'route del unicast default dev egw0 via 192.168.77.12 onlink tos 0x10 table 1000 metric 0',
      'route del unicast 10.5.0.0/16 table 1000 metric 3',
    ]);
  });
});

describe('validateRoutes', () => {
  const route = { type: 'unicast', dst: 'default', dev: 'egw0', metric: 0 } as const;
  it('accepts the gateway plan and a steering table', () => {
    expect(() => validateRoutes(7777, plan.routes)).not.toThrow();
    expect(() =>
      validateRoutes(1000, [{ ...route, via: '192.168.77.12', onlink: true }]),
    ).not.toThrow();
  });

  it.each<[string, RouteDesired['routes']]>([
    ['two routes in one slot', [route, { ...route, dev: 'egw1' }]],
    ['0.0.0.0/0 for default', [{ ...route, dst: '0.0.0.0/0' }]],
    ['a bare address', [{ ...route, dst: '10.0.0.1' }]],
    ['host bits', [{ ...route, dst: '10.0.0.1/24' }]],
    ['a negative metric', [{ ...route, metric: -1 }]],
    ['a bad next hop', [{ ...route, via: '10.0.0' }]],
    ['a next hop without dev', [{ type: 'unicast', dst: 'default', via: '10.0.0.1', metric: 0 }]],
    ['onlink without next hop', [{ ...route, onlink: true }]],
    ['unreachable with a next hop', [{ ...route, type: 'unreachable', via: '10.0.0.1' }]],
  ])('rejects %s with EGW_NET_BAD_ROLE', (_, routes) => {
    expect(() => validateRoutes(1000, routes)).toThrow(
      expect.objectContaining({ code: 'EGW_NET_BAD_ROLE' }),
    );
  });
});

describe('reconcileRoutes', () => {
  it('treats a table the kernel does not have as empty', async () => {
    const missing = new NetCommandError(
      'EGW_NET_COMMAND_FAILED',
      ['ip'],
      2,
      'Error: ipv4: FIB table does not exist.\nDump terminated\n',
      'exit status 2',
    );
    const { exec, calls } = fakeExec((argv) => (argv.includes('show') ? missing : ''));
    const commands = await reconcileRoutes({ exec, netns: null }, desired);
    expect(commands).toHaveLength(2);
    expect(calls[1]!.argv).toEqual(['ip', '-4', '-batch', '-']);
  });

  it('lets any other failure through, with its code', async () => {
    const { exec } = fakeExec(
      () => new NetCommandError('EGW_NET_COMMAND_FAILED', ['ip'], 1, 'boom', 'exit status 1'),
    );
    await expect(reconcileRoutes({ exec, netns: null }, desired)).rejects.toMatchObject({
      code: 'EGW_NET_COMMAND_FAILED',
      stderr: 'boom',
    });
  });
});
