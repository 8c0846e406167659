import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { coreCounterMetrics, coreCounterTargets } from './core-counter-metrics.ts';
import {
  type DataplaneReadings,
  type DataplaneSnapshot,
  DataplaneSnapshots,
} from './dataplane-readings.ts';
import { MetricsError } from './errors.ts';

/**
 * The agent's Prometheus registry and the typed handles the rest of the agent uses.
 *
 * Two kinds of metric live here:
 * - read at scrape time from the dataplane the agent attaches (`attachDataplane`): the
 *   core's cumulative counters, flow-table and SNAT port use. Nothing is incremented per
 *   packet from JavaScript; a scrape reads the core's shared memory once.
 * - pushed by the control plane through the handles: election roles and failovers.
 */
export interface AgentMetricsOptions {
  /** Also export Node's process metrics (CPU, memory, event-loop delay, GC). Default true. */
  processMetrics?: boolean;
  /** How long one dataplane reading serves the metrics of a scrape. Default 250 ms. */
  readingMaxAgeMs?: number;
  /** Clock for the reading cache (tests). */
  now?: () => number;
}

export interface AgentMetrics {
  readonly registry: Registry;
  /** Reads the dataplane at every scrape from now on; null detaches (dataplane stopped). */
  attachDataplane(readings: DataplaneReadings | null): void;
  /** This node's role in a gateway group: active (1) or standby (0). */
  setElectionRole(group: string, node: string, active: boolean): void;
  /** Removes a group that no longer exists, so its series stop being exported. */
  forgetGroup(group: string): void;
  /** A failover of `group` completed, `durationSeconds` after the old active was lost. */
  recordFailover(group: string, durationSeconds: number): void;
}

export function createAgentMetrics(opts: AgentMetricsOptions = {}): AgentMetrics {
  const registry = new Registry();
  if (opts.processMetrics ?? true) collectDefaultMetrics({ register: registry });

  const readErrors = new Counter({
    name: 'egressgw_dataplane_read_errors_total',
    help: 'Scrapes that could not read the dataplane (its metrics kept their last values).',
    registers: [registry],
  });
  const snapshots = new DataplaneSnapshots({
    maxAgeMs: opts.readingMaxAgeMs ?? 250,
    now: opts.now ?? Date.now,
    onError: () => readErrors.inc(),
  });

  registerCoreCounters(registry, () => snapshots.read());
  registerFlowTableGauges(
    registry,
    () => snapshots.read(),
    () => snapshots.attached,
  );

  const electionActive = new Gauge({
    name: 'egressgw_election_active',
    help: 'This node’s role in a gateway group: 1 active, 0 standby.',
    labelNames: ['group', 'node'],
    registers: [registry],
  });
  const failovers = new Counter({
    name: 'egressgw_failovers_total',
    help: 'Failovers of a gateway group that ended with this node active.',
    labelNames: ['group'],
    registers: [registry],
  });
  const lastFailoverSeconds = new Gauge({
    name: 'egressgw_last_failover_duration_seconds',
    help: 'From losing the old active node to traffic flowing through this one, last failover.',
    labelNames: ['group'],
    registers: [registry],
  });
  /** The node label values exported per group, so forgetGroup can remove every series. */
  const nodesByGroup = new Map<string, Set<string>>();

  return {
    registry,
    attachDataplane(readings) {
      snapshots.setSource(readings);
    },
    setElectionRole(group, node, active) {
      requireLabel('group', group);
      requireLabel('node', node);
      let nodes = nodesByGroup.get(group);
      if (nodes === undefined) {
        nodes = new Set();
        nodesByGroup.set(group, nodes);
      }
      nodes.add(node);
      electionActive.set({ group, node }, active ? 1 : 0);
    },
    forgetGroup(group) {
      for (const node of nodesByGroup.get(group) ?? []) electionActive.remove({ group, node });
      nodesByGroup.delete(group);
      failovers.remove({ group });
      lastFailoverSeconds.remove({ group });
    },
    recordFailover(group, durationSeconds) {
      requireLabel('group', group);
      if (!Number.isFinite(durationSeconds) || durationSeconds < 0) {
        throw new MetricsError(
          'EGW_METRICS_BAD_INPUT',
          `failover duration must be a finite number of seconds ≥ 0, got ${durationSeconds}`,
        );
      }
      failovers.inc({ group });
      lastFailoverSeconds.set({ group }, durationSeconds);
    },
  };
}

function requireLabel(name: string, value: string): void {
  if (typeof value !== 'string' || value === '') {
    throw new MetricsError('EGW_METRICS_BAD_INPUT', `label ${name} must be a non-empty string`);
  }
}

/**
 * One prom-client Counter per core counter metric. Each `collect` replaces the counter's
 * values with the core's cumulative ones (prom-client has no "set" on counters, so reset
 * then inc by the absolute value). Without a reading the last values stay: a counter must
 * not jump to zero because one read failed. A restarted core starts again from zero,
 * which Prometheus treats as a counter reset, as it should.
 */
function registerCoreCounters(registry: Registry, read: () => DataplaneSnapshot | null): void {
  for (const metric of coreCounterMetrics()) {
    const sources = Object.entries(coreCounterTargets).filter(([, t]) => t.metric === metric);
    const labelName = metric.labelName;
    new Counter({
      name: metric.name,
      help: metric.help,
      labelNames: labelName === undefined ? [] : [labelName],
      registers: [registry],
      collect() {
        const snapshot = read();
        if (snapshot === null) return;
        this.reset();
        for (const [counterName, target] of sources) {
          const value = Number(snapshot.counters[counterName] ?? 0n);
          if (labelName === undefined) this.inc(value);
          else this.inc({ [labelName]: target.labelValue! }, value);
        }
      },
    });
  }
}

/** Gauges of the flow table and per-IP port use, read at scrape time. */
function registerFlowTableGauges(
  registry: Registry,
  read: () => DataplaneSnapshot | null,
  attached: () => boolean,
): void {
  // Detached: no dataplane, so nothing in use. A failed read keeps the last values.
  const current = (gauge: Gauge): DataplaneSnapshot | null => {
    const snapshot = read();
    if (snapshot === null && !attached()) gauge.reset();
    return snapshot;
  };
  const flowGauge = (name: string, help: string, pick: (s: DataplaneSnapshot) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        const snapshot = current(this);
        if (snapshot !== null) this.set(pick(snapshot));
      },
    });
  flowGauge(
    'egressgw_conntrack_entries',
    'Connection-tracking entries in use.',
    (s) => s.flowTable.entries,
  );
  flowGauge(
    'egressgw_conntrack_capacity',
    'Connection-tracking entries the table can hold.',
    (s) => s.flowTable.capacity,
  );
  flowGauge('egressgw_snat_mappings', 'SNAT mappings in use.', (s) => s.flowTable.mappings);

  // Egress IPs come and go with the configuration: every scrape exports exactly the IPs of
  // the current reading, so a removed IP's series disappear with it.
  const portGauge = (name: string, help: string, pick: (inUse: number, size: number) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['egress_ip'],
      registers: [registry],
      collect() {
        const snapshot = current(this);
        if (snapshot === null) return;
        this.reset();
        for (const use of snapshot.portUse) {
          this.set({ egress_ip: use.egressIP }, pick(use.inUse, use.rangeSize));
        }
      },
    });
  portGauge('egressgw_snat_ports_in_use', 'SNAT ports mapped, per egress IP.', (inUse) => inUse);
  portGauge(
    'egressgw_snat_port_range_size',
    'SNAT ports the range of an egress IP holds.',
    (_, size) => size,
  );
}
