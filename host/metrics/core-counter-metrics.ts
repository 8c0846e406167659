/**
 * How each of the core's cumulative counters appears in Prometheus. The core keeps u64
 * counters in shared memory (host/dataplane/counters.ts lists them in memory order); they
 * are read at scrape time, never incremented per packet from JavaScript.
 *
 * metrics/ imports nothing from the rest of host/ (STYLE.md §2), so the names are keyed
 * here as strings; core-counter-metrics.test.ts keeps this table and counters.ts identical,
 * the way counters.ts is kept identical to assembly/counters.ts.
 */

/** One Prometheus counter fed by one or more core counters. */
export interface CoreCounterMetric {
  /** Metric name, ending in `_total`. */
  name: string;
  help: string;
  /** The label the core counters of this metric are told apart by, if any. */
  labelName?: string;
}

/** Where one core counter goes: a metric, and its label value when the metric has a label. */
export interface CoreCounterTarget {
  metric: CoreCounterMetric;
  labelValue?: string;
}

const droppedPackets: CoreCounterMetric = {
  name: 'egressgw_dropped_packets_total',
  help: 'Packets the core dropped, by reason (the verdict name, assembly/README.md).',
  labelName: 'reason',
};

function own(name: string, help: string): CoreCounterTarget {
  return { metric: { name, help } };
}

function drop(reason: string): CoreCounterTarget {
  return { metric: droppedPackets, labelValue: reason };
}

/**
 * Every core counter by its name in counters.ts. Drop reasons are exactly the core's
 * verdict names (nat-engine.ts verdictNames without `forward` and `held`): that one value
 * is the log field, the test oracle and the metric label (STYLE.md, MetalLB).
 */
export const coreCounterTargets: Readonly<Record<string, CoreCounterTarget>> = {
  rx_packets: own('egressgw_received_packets_total', 'Packets the core read from the TUN.'),
  rx_bytes: own('egressgw_received_bytes_total', 'Bytes the core read from the TUN.'),
  forwarded_packets: own(
    'egressgw_forwarded_packets_total',
    'Packets the core forwarded (translated or passed), GSO super-packets counted once.',
  ),
  forwarded_bytes: own('egressgw_forwarded_bytes_total', 'Bytes the core forwarded.'),
  drop_malformed: drop('malformed'),
  drop_unsupported: drop('unsupported'),
  drop_no_policy: drop('no_policy'),
  drop_no_flow: drop('no_flow'),
  drop_ports_exhausted: drop('ports_exhausted'),
  fragments_held: own(
    'egressgw_fragments_held_total',
    'IPv4 fragments held until their first fragment arrived.',
  ),
  drop_fragment: drop('fragment_dropped'),
  fragments_released: own(
    'egressgw_fragments_released_total',
    'Held fragments released, translated, when their first fragment arrived.',
  ),
  fragments_expired: own(
    'egressgw_fragments_expired_total',
    'Held fragments freed after the fragment timeout without their first fragment.',
  ),
  flows_created: own('egressgw_flows_created_total', 'Connection-tracking entries created.'),
  flows_expired: own(
    'egressgw_flows_expired_total',
    'Connection-tracking entries freed after their idle timeout.',
  ),
  flows_evicted: own(
    'egressgw_flows_evicted_total',
    'Connection-tracking entries evicted to make room for new flows.',
  ),
  flows_invalidated: own(
    'egressgw_flows_invalidated_total',
    'Connection-tracking entries dropped because a new policy table no longer allows them.',
  ),
  mappings_created: own('egressgw_snat_mappings_created_total', 'SNAT port mappings created.'),
  ports_preserved: own(
    'egressgw_snat_ports_preserved_total',
    'SNAT mappings that kept the internal source port.',
  ),
  icmp_errors_translated: own(
    'egressgw_icmp_errors_translated_total',
    'ICMP errors whose embedded packet was translated back (path MTU discovery).',
  ),
  gso_packets: own('egressgw_gso_packets_total', 'GSO super-packets rewritten in place.'),
  table_swaps: own('egressgw_table_swaps_total', 'Policy tables the core swapped in.'),
  flows_imported: own(
    'egressgw_flows_imported_total',
    'Flows imported from the previous active gateway (NAT state replication).',
  ),
  flows_import_skipped: own(
    'egressgw_flows_import_skipped_total',
    'Replicated flows not imported (expired, conflicting or no room).',
  ),
};

/** The metrics of coreCounterTargets, each once, in first-use order. */
export function coreCounterMetrics(): CoreCounterMetric[] {
  const seen = new Set<CoreCounterMetric>();
  for (const target of Object.values(coreCounterTargets)) seen.add(target.metric);
  return [...seen];
}
