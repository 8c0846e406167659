import { describe, expect, it } from 'vitest';
import { counterNames } from '../dataplane/counters.ts';
import { createAgentMetrics } from './agent-metrics.ts';
import type { DataplaneReadings, EgressPortUse } from './dataplane-readings.ts';
import { MetricsError } from './errors.ts';

/** A dataplane whose readings the test sets, counting how often each is read. */
function fakeDataplane() {
  const counters: Record<string, bigint> = Object.fromEntries(counterNames.map((n) => [n, 0n]));
  const state = {
    counters,
    flowTable: { entries: 0, capacity: 65_536, mappings: 0 },
    portUse: [] as EgressPortUse[],
    reads: 0,
    fail: false,
  };
  const readings: DataplaneReadings = {
    counters() {
      state.reads++;
      if (state.fail) throw new Error('memory gone');
      return { ...state.counters };
    },
    flowTable: () => ({ ...state.flowTable }),
    portUse: () => state.portUse,
  };
  return { state, readings };
}

/** The value of one sample line, or undefined when the series is absent. */
function sample(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    if (line.slice(0, space) === series) return Number(line.slice(space + 1));
  }
  return undefined;
}

describe('agent metrics', () => {
  it('exports the core counters read at scrape time, drops labelled by verdict', async () => {
    let now = 0;
    const m = createAgentMetrics({ processMetrics: false, now: () => now });
    const dp = fakeDataplane();
    m.attachDataplane(dp.readings);
    dp.state.counters['forwarded_packets'] = 1_234n;
    dp.state.counters['forwarded_bytes'] = 5_000_000_000n;
    dp.state.counters['drop_no_policy'] = 7n;
    dp.state.counters['drop_fragment'] = 2n;
    dp.state.counters['table_swaps'] = 3n;
    let text = await m.registry.metrics();
    expect(sample(text, 'egressgw_forwarded_packets_total')).toBe(1234);
    expect(sample(text, 'egressgw_forwarded_bytes_total')).toBe(5e9);
    expect(sample(text, 'egressgw_dropped_packets_total{reason="no_policy"}')).toBe(7);
    expect(sample(text, 'egressgw_dropped_packets_total{reason="fragment_dropped"}')).toBe(2);
    expect(sample(text, 'egressgw_dropped_packets_total{reason="malformed"}')).toBe(0);
    expect(sample(text, 'egressgw_table_swaps_total')).toBe(3);
    expect(text).toContain('# TYPE egressgw_dropped_packets_total counter');
    // One reading serves the whole scrape, so packets and bytes are from one instant.
    expect(dp.state.reads).toBe(1);

    // Absolute values, not sums of readings: a second scrape shows the new totals.
    now += 1_000;
    dp.state.counters['forwarded_packets'] = 2_000n;
    text = await m.registry.metrics();
    expect(sample(text, 'egressgw_forwarded_packets_total')).toBe(2000);
    expect(dp.state.reads).toBe(2);
  });

  it('keeps the last counter values when a read fails, and counts the failure', async () => {
    let now = 0;
    const m = createAgentMetrics({ processMetrics: false, now: () => now });
    const dp = fakeDataplane();
    m.attachDataplane(dp.readings);
    dp.state.counters['flows_created'] = 10n;
    await m.registry.metrics();
    now += 1_000;
    dp.state.fail = true;
    const text = await m.registry.metrics();
    expect(sample(text, 'egressgw_flows_created_total')).toBe(10);
    expect(sample(text, 'egressgw_dataplane_read_errors_total')).toBeGreaterThanOrEqual(1);
  });

  it('exports flow-table gauges and per-IP port use, dropping IPs that went away', async () => {
    let now = 0;
    const m = createAgentMetrics({ processMetrics: false, now: () => now });
    const dp = fakeDataplane();
    m.attachDataplane(dp.readings);
    dp.state.flowTable = { entries: 42, capacity: 65_536, mappings: 40 };
    dp.state.portUse = [
      { egressIP: '203.0.113.10', inUse: 100, rangeSize: 28_232 },
      { egressIP: '203.0.113.11', inUse: 5, rangeSize: 1_000 },
    ];
    let text = await m.registry.metrics();
    expect(sample(text, 'egressgw_conntrack_entries')).toBe(42);
    expect(sample(text, 'egressgw_conntrack_capacity')).toBe(65_536);
    expect(sample(text, 'egressgw_snat_mappings')).toBe(40);
    expect(sample(text, 'egressgw_snat_ports_in_use{egress_ip="203.0.113.10"}')).toBe(100);
    expect(sample(text, 'egressgw_snat_port_range_size{egress_ip="203.0.113.11"}')).toBe(1000);

    now += 1_000;
    dp.state.portUse = [{ egressIP: '203.0.113.11', inUse: 6, rangeSize: 1_000 }];
    text = await m.registry.metrics();
    expect(sample(text, 'egressgw_snat_ports_in_use{egress_ip="203.0.113.10"}')).toBeUndefined();
    expect(sample(text, 'egressgw_snat_ports_in_use{egress_ip="203.0.113.11"}')).toBe(6);

    m.attachDataplane(null);
    text = await m.registry.metrics();
    expect(sample(text, 'egressgw_snat_ports_in_use{egress_ip="203.0.113.11"}')).toBeUndefined();
    expect(sample(text, 'egressgw_conntrack_entries')).toBe(0);
  });

  it('tracks election roles and failovers per group, and forgets removed groups', async () => {
    const m = createAgentMetrics({ processMetrics: false });
    m.setElectionRole('gw-a', 'node-1', true);
    m.setElectionRole('gw-b', 'node-1', false);
    m.recordFailover('gw-a', 0.42);
    m.recordFailover('gw-a', 0.31);
    let text = await m.registry.metrics();
    expect(sample(text, 'egressgw_election_active{group="gw-a",node="node-1"}')).toBe(1);
    expect(sample(text, 'egressgw_election_active{group="gw-b",node="node-1"}')).toBe(0);
    expect(sample(text, 'egressgw_failovers_total{group="gw-a"}')).toBe(2);
    expect(sample(text, 'egressgw_last_failover_duration_seconds{group="gw-a"}')).toBe(0.31);

    m.setElectionRole('gw-a', 'node-1', false);
    m.forgetGroup('gw-b');
    text = await m.registry.metrics();
    expect(sample(text, 'egressgw_election_active{group="gw-a",node="node-1"}')).toBe(0);
    expect(sample(text, 'egressgw_election_active{group="gw-b",node="node-1"}')).toBeUndefined();
  });

  it('rejects unusable inputs with a code', () => {
    const m = createAgentMetrics({ processMetrics: false });
    const code = (f: () => void) => {
      try {
        f();
      } catch (err) {
        return err instanceof MetricsError ? err.code : 'other';
      }
      return 'none';
    };
    expect(code(() => m.recordFailover('gw', -1))).toBe('EGW_METRICS_BAD_INPUT');
    expect(code(() => m.recordFailover('gw', Number.NaN))).toBe('EGW_METRICS_BAD_INPUT');
    expect(code(() => m.setElectionRole('', 'n', true))).toBe('EGW_METRICS_BAD_INPUT');
  });

  it('includes process metrics by default', async () => {
    const m = createAgentMetrics();
    const text = await m.registry.metrics();
    expect(text).toContain('process_cpu_seconds_total');
    expect(text).toContain('nodejs_eventloop_lag_seconds');
  });
});
