/**
 * The core's counters, in the order they sit in its memory (u64 each). The core's own
 * list is assembly/counters.ts; a test keeps the two identical.
 * Counters only grow; readers take differences.
 */
export const counterNames = [
  'rx_packets',
  'rx_bytes',
  'forwarded_packets',
  'forwarded_bytes',
  // One per drop verdict, in verdict order (verdicts 1..7).
  'drop_malformed',
  'drop_unsupported',
  'drop_no_policy',
  'drop_no_flow',
  'drop_ports_exhausted',
  'fragments_held',
  'drop_fragment',
  // What happened to state.
  'fragments_released',
  'fragments_expired',
  'flows_created',
  'flows_expired',
  'flows_evicted',
  'flows_invalidated',
  'mappings_created',
  'ports_preserved',
  'icmp_errors_translated',
  'gso_packets',
  'table_swaps',
  'flows_imported',
  'flows_import_skipped',
] as const;

export type CounterName = (typeof counterNames)[number];

/**
 * Counters whose values do not depend on when the incremental sweep runs: the property
 * tests compare these between the core and the reference model.
 */
export const deterministicCounters: readonly CounterName[] = counterNames.filter(
  (name) => name !== 'flows_expired' && name !== 'fragments_expired' && name !== 'flows_evicted',
);
