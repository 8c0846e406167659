import { describe, expect, it } from 'vitest';
import { NetCommandError } from './exec.ts';
import { fakeExec } from './fake-exec.ts';
import { fixturePlan } from './fixture-plan.ts';
import routesApplied from './fixtures/routes-applied.json' with { type: 'json' };
import type { IpRouteJson } from './ip.ts';
import {
  diffRoutes,
  normalizeRoute,
  type RouteDesired,
  reconcileRoutes,
  routeCommands,
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
    expect(diffRoutes(applied, desired)).toEqual({ add: [], delete: [] });
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
