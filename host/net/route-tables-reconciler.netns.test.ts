import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteSpec } from './desired-state.ts';
import { exec, type NetContext } from './exec.ts';
import { type RouteTablesDesired, reconcileRouteTables } from './route-tables-reconciler.ts';

/**
 * reconcileRouteTables against a real kernel, in a namespace of its own: a veth stands in
 * for the tunnel (an onlink next hop only needs a device that is up).
 */

const isRoot = process.getuid?.() === 0;
const NS = `egwtun-${process.pid}-rt`;
const DEV = 'v0';
const context: NetContext = { exec, netns: NS };

async function run(...argv: string[]): Promise<string> {
  return (await exec(argv)).stdout;
}
const ip = (...args: string[]) => run('ip', '-n', NS, ...args);

/** Every route as "table: dst via dev metric", sorted, without kernel-only fields. */
async function tables(): Promise<string[]> {
  const routes = JSON.parse(await ip('-4', '-N', '-d', '-j', 'route', 'show', 'table', 'all'));
  return (routes as Record<string, unknown>[])
    .map((route) =>
      [
        `${route['table']}:`,
        route['type'],
        route['dst'],
        route['gateway'] ?? '-',
        route['dev'] ?? '-',
        route['metric'] ?? 0,
        (route['flags'] as string[]).includes('onlink') ? 'onlink' : '',
      ].join(' '),
    )
    .sort();
}

const via = (gateway: string, dst = 'default', metric = 0): RouteSpec => ({
  type: 'unicast',
  dst,
  dev: DEV,
  via: gateway,
  onlink: true,
  metric,
});
const unreachable: RouteSpec = { type: 'unreachable', dst: 'default', metric: 0xfffffffe };

function plan(gateway: string): RouteTablesDesired {
  return {
    tables: [
      { id: 1000, routes: [via(gateway), unreachable] },
      { id: 1001, routes: [via('10.99.0.2', '10.9.0.0/16', 5)] },
    ],
    range: { min: 1000, max: 1099 },
    protocol: 159,
  };
}

describe.skipIf(!isRoot)('reconcileRouteTables in a namespace', () => {
  let others: string[];

  beforeAll(async () => {
    await run('ip', 'netns', 'add', NS);
    await ip('link', 'add', DEV, 'type', 'veth', 'peer', 'name', 'v1');
    await ip('link', 'set', DEV, 'up');
    await ip('link', 'set', 'v1', 'up');
    await ip('address', 'add', '192.168.77.11/24', 'dev', DEV);
    // Someone else's table outside the range, which must survive everything below.
    await ip('route', 'add', '10.6.0.0/16', 'via', '192.168.77.12', 'table', '1100');
    others = await tables();
    // A stranger inside the range, which must go.
    await ip('route', 'add', 'blackhole', '10.7.0.0/16', 'table', '1050');
  });

  afterAll(async () => {
    await run('ip', 'netns', 'del', NS).catch(() => {});
  });

  it('fills the tables and empties the strangers in the range', async () => {
    expect(await reconcileRouteTables(context, plan('10.99.0.1'))).toEqual([
      'route add unicast default dev v0 via 10.99.0.1 onlink table 1000 metric 0 proto 159',
      'route add unreachable default table 1000 metric 4294967294 proto 159',
      'route add unicast 10.9.0.0/16 dev v0 via 10.99.0.2 onlink table 1001 metric 5 proto 159',
      'route del blackhole 10.7.0.0/16 table 1050 metric 0',
    ]);
    expect(await tables()).toEqual(
      [
        ...others,
        '1000: 1 default 10.99.0.1 v0 0 onlink',
        '1000: 7 default - - 4294967294 ',
        '1001: 1 10.9.0.0/16 10.99.0.2 v0 5 onlink',
      ].sort(),
    );
    expect(await reconcileRouteTables(context, plan('10.99.0.1'))).toEqual([]);
  });

  it('moves the default route to another next hop in place', async () => {
    // What a plain add would do: one route per destination and metric.
    await expect(
      ip('route', 'add', 'default', 'via', '10.99.0.3', 'dev', DEV, 'onlink', 'table', '1000'),
    ).rejects.toMatchObject({ stderr: expect.stringMatching(/File exists/) });
    expect(await reconcileRouteTables(context, plan('10.99.0.3'))).toEqual([
      'route replace unicast default dev v0 via 10.99.0.3 onlink table 1000 metric 0 proto 159',
    ]);
    expect(await tables()).toContain('1000: 1 default 10.99.0.3 v0 0 onlink');
    expect(await tables()).not.toContain('1000: 1 default 10.99.0.1 v0 0 onlink');
    expect(await reconcileRouteTables(context, plan('10.99.0.3'))).toEqual([]);
  });

  it('repairs what was changed behind its back', async () => {
    await ip('route', 'del', '10.9.0.0/16', 'table', '1001', 'metric', '5');
    await ip(
      'route',
      'append',
      'default',
      'via',
      '10.99.0.9',
      'dev',
      DEV,
      'onlink',
      'table',
      '1000',
    );
    await ip('route', 'add', '10.5.0.0/16', 'dev', DEV, 'table', '1099');
    const before = await tables();
    expect(before).toContain('1000: 1 default 10.99.0.9 v0 0 onlink');
    expect(await reconcileRouteTables(context, plan('10.99.0.3'))).toEqual([
      'route add unicast 10.9.0.0/16 dev v0 via 10.99.0.2 onlink table 1001 metric 5 proto 159',
      'route del unicast default dev v0 via 10.99.0.9 onlink table 1000 metric 0',
      'route del unicast 10.5.0.0/16 dev v0 table 1099 metric 0',
    ]);
    expect(await tables()).toEqual(
      [
        ...others,
        '1000: 1 default 10.99.0.3 v0 0 onlink',
        '1000: 7 default - - 4294967294 ',
        '1001: 1 10.9.0.0/16 10.99.0.2 v0 5 onlink',
      ].sort(),
    );
  });

  it('replaces the first route of a crowded slot and deletes the others', async () => {
    await ip(
      'route',
      'append',
      'default',
      'via',
      '10.99.0.9',
      'dev',
      DEV,
      'onlink',
      'table',
      '1000',
    );
    expect(await reconcileRouteTables(context, plan('10.99.0.4'))).toEqual([
      'route replace unicast default dev v0 via 10.99.0.4 onlink table 1000 metric 0 proto 159',
      'route del unicast default dev v0 via 10.99.0.9 onlink table 1000 metric 0',
    ]);
    const defaults = (await tables()).filter((route) => route.startsWith('1000: 1 default'));
    expect(defaults).toEqual(['1000: 1 default 10.99.0.4 v0 0 onlink']);
  });

  it('switches a table between a next hop and refusing, without a gap', async () => {
    // A group that lost its gateway (tunnel-plan.ts, whenNoGateway 'drop').
    const refusing: RouteTablesDesired = {
      ...plan('10.99.0.4'),
      tables: [{ id: 1000, routes: [{ ...unreachable, metric: 0 }] }, plan('10.99.0.4').tables[1]!],
    };
    expect(await reconcileRouteTables(context, refusing)).toEqual([
      'route replace unreachable default table 1000 metric 0 proto 159',
      'route del unreachable default table 1000 metric 4294967294',
    ]);
    expect((await tables()).filter((route) => route.startsWith('1000:'))).toEqual([
      '1000: 7 default - - 0 ',
    ]);
    expect(await reconcileRouteTables(context, plan('10.99.0.4'))).toEqual([
      'route add unreachable default table 1000 metric 4294967294 proto 159',
      'route replace unicast default dev v0 via 10.99.0.4 onlink table 1000 metric 0 proto 159',
    ]);
    expect(await reconcileRouteTables(context, plan('10.99.0.4'))).toEqual([]);
  });

  it('empties the range and nothing else', async () => {
    expect(await reconcileRouteTables(context, { ...plan('10.99.0.3'), tables: [] })).toHaveLength(
      3,
    );
    expect(await tables()).toEqual(others);
  });
});
