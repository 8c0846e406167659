import { describe, expect, it } from 'vitest';
import type { RouteSpec, RouteTableSpec } from './desired-state.ts';
import { fakeExec } from './fake-exec.ts';
import routeTablesAll from './fixtures/route-tables-all.json' with { type: 'json' };
import type { IpTableRouteJson } from './ip.ts';
import {
  type RouteTablesDesired,
  reconcileRouteTables,
  routeTablesCommands,
  validateRouteTables,
} from './route-tables-reconciler.ts';

// Recorded in a namespace: tables 1000-1002 (ours below), 1100 (someone's), main and local.
const observed = routeTablesAll as IpTableRouteJson[];

const viaTunnel = (via: string, dst = 'default', metric = 0): RouteSpec => ({
  type: 'unicast',
  dst,
  dev: 'egw0',
  via,
  onlink: true,
  metric,
});
const unreachable: RouteSpec = { type: 'unreachable', dst: 'default', metric: 0xfffffffe };

function desired(tables: RouteTableSpec[]): RouteTablesDesired {
  return { tables, range: { min: 1000, max: 1099 }, protocol: 159 };
}

// The recorded contents of 1000 and 1001 as a plan would say them.
const table1000: RouteTableSpec = { id: 1000, routes: [viaTunnel('192.168.77.12'), unreachable] };
const table1001: RouteTableSpec = {
  id: 1001,
  routes: [
    { type: 'unicast', dst: '10.8.0.0/16', dev: 'v0', via: '192.168.77.12', metric: 0 },
    viaTunnel('192.168.77.13', '10.9.0.0/16', 5),
  ],
};

describe('routeTablesCommands', () => {
  it('reads the recorded tables back as the plan and empties 1002, which it does not name', () => {
    expect(routeTablesCommands(observed, desired([table1000, table1001]))).toEqual([
      'route del blackhole 10.7.0.0/16 table 1002 metric 0',
    ]);
  });

  it('empties every table of the range and nothing outside it', () => {
    expect(routeTablesCommands(observed, desired([]))).toEqual([
      'route del unicast default dev egw0 via 192.168.77.12 onlink table 1000 metric 0',
      'route del unreachable default table 1000 metric 4294967294',
      'route del unicast 10.8.0.0/16 dev v0 via 192.168.77.12 table 1001 metric 0',
      'route del unicast 10.9.0.0/16 dev egw0 via 192.168.77.13 onlink table 1001 metric 5',
      'route del blackhole 10.7.0.0/16 table 1002 metric 0',
    ]);
  });

  it('writes every table before it deletes from any', () => {
    const moved = { id: 1000, routes: [viaTunnel('192.168.77.14'), unreachable] };
    const fresh = { id: 1099, routes: [viaTunnel('192.168.77.12'), unreachable] };
    expect(routeTablesCommands(observed, desired([moved, fresh]))).toEqual([
      'route replace unicast default dev egw0 via 192.168.77.14 onlink table 1000 metric 0 proto 159',
      'route add unicast default dev egw0 via 192.168.77.12 onlink table 1099 metric 0 proto 159',
      'route add unreachable default table 1099 metric 4294967294 proto 159',
      'route del unicast 10.8.0.0/16 dev v0 via 192.168.77.12 table 1001 metric 0',
      'route del unicast 10.9.0.0/16 dev egw0 via 192.168.77.13 onlink table 1001 metric 5',
      'route del blackhole 10.7.0.0/16 table 1002 metric 0',
    ]);
  });

  it('moves a next hop to another metric with an add before the delete', () => {
    const remetered = {
      id: 1000,
      routes: [viaTunnel('192.168.77.14', 'default', 10), unreachable],
    };
    expect(routeTablesCommands(observed, desired([remetered, table1001]))).toEqual([
      'route add unicast default dev egw0 via 192.168.77.14 onlink table 1000 metric 10 proto 159',
      'route del unicast default dev egw0 via 192.168.77.12 onlink table 1000 metric 0',
      'route del blackhole 10.7.0.0/16 table 1002 metric 0',
    ]);
  });

  it('reads a route without a table as main, which is never in the range', () => {
    const main: IpTableRouteJson = { type: '1', dst: '10.1.0.0/16', dev: 'v0' };
    expect(routeTablesCommands([main], { ...desired([]), range: { min: 1, max: 251 } })).toEqual(
      [],
    );
  });
});

describe('validateRouteTables', () => {
  it('accepts tables inside the range', () => {
    expect(() => validateRouteTables(desired([table1000, table1001]))).not.toThrow();
  });

  it.each<[string, RouteTablesDesired]>([
    ['a range over main', { ...desired([]), range: { min: 200, max: 300 } }],
    ['a range over local', { ...desired([]), range: { min: 255, max: 1000 } }],
    ['a range from 0', { ...desired([]), range: { min: 0, max: 10 } }],
    ['an upside-down range', { ...desired([]), range: { min: 1099, max: 1000 } }],
    ['a range past 2^32', { ...desired([]), range: { min: 1000, max: 2 ** 32 } }],
    ['a table below the range', desired([{ id: 999, routes: [] }])],
    ['a table above the range', desired([{ id: 1100, routes: [] }])],
    ['a table named twice', desired([table1000, { id: 1000, routes: [] }])],
    ['a protocol over 255', { ...desired([]), protocol: 256 }],
    [
      'two defaults with one metric',
      desired([{ id: 1000, routes: [viaTunnel('192.168.77.12'), viaTunnel('192.168.77.13')] }]),
    ],
  ])('rejects %s with EGW_NET_BAD_ROLE', (_, bad) => {
    expect(() => validateRouteTables(bad)).toThrow(
      expect.objectContaining({ code: 'EGW_NET_BAD_ROLE' }),
    );
  });
});

describe('reconcileRouteTables', () => {
  it('reads all tables once and writes in one batch', async () => {
    const { exec, calls } = fakeExec((argv) =>
      argv.includes('show') ? JSON.stringify(observed) : '',
    );
    const commands = await reconcileRouteTables({ exec, netns: 'ns1' }, desired([table1000]));
    expect(commands).toHaveLength(3);
    expect(calls.map((call) => call.argv)).toEqual([
      ['ip', '-n', 'ns1', '-4', '-N', '-d', '-j', 'route', 'show', 'table', 'all'],
      ['ip', '-n', 'ns1', '-4', '-batch', '-'],
    ]);
    expect(calls[1]!.input).toBe(`${commands.join('\n')}\n`);
  });

  it('runs nothing more when the tables hold the plan', async () => {
    const { exec, calls } = fakeExec(() => JSON.stringify(observed.slice(1, 5)));
    expect(
      await reconcileRouteTables({ exec, netns: null }, desired([table1000, table1001])),
    ).toEqual([]);
    expect(calls).toHaveLength(1);
  });

  it('runs nothing at all for an invalid plan', async () => {
    const { exec, calls } = fakeExec(() => '[]');
    await expect(
      reconcileRouteTables({ exec, netns: null }, desired([{ id: 7, routes: [] }])),
    ).rejects.toMatchObject({ code: 'EGW_NET_BAD_ROLE' });
    expect(calls).toEqual([]);
  });

  it('says EGW_NET_BAD_OUTPUT for a table that is not a number', async () => {
    const { exec } = fakeExec(() => JSON.stringify([{ dst: 'default', table: 'main' }]));
    await expect(reconcileRouteTables({ exec, netns: null }, desired([]))).rejects.toMatchObject({
      code: 'EGW_NET_BAD_OUTPUT',
    });
  });
});
