import { describe, expect, it } from 'vitest';
import { counterNames } from '../dataplane/counters.ts';
import { verdictNames } from '../dataplane/nat-engine.ts';
import { coreCounterMetrics, coreCounterTargets } from './core-counter-metrics.ts';

describe('core counter metrics', () => {
  it('maps exactly the core counters, in memory order', () => {
    expect(Object.keys(coreCounterTargets)).toEqual([...counterNames]);
  });

  it('labels drops with exactly the drop verdict names', () => {
    const reasons = Object.values(coreCounterTargets)
      .filter((t) => t.metric.name === 'egressgw_dropped_packets_total')
      .map((t) => t.labelValue);
    const dropVerdicts = Object.values(verdictNames).filter((n) => n !== 'forward' && n !== 'held');
    expect(reasons.sort()).toEqual([...dropVerdicts].sort());
    expect(reasons.sort()).toEqual(
      [
        'malformed',
        'unsupported',
        'no_policy',
        'no_flow',
        'ports_exhausted',
        'fragment_dropped',
      ].sort(),
    );
  });

  it('gives each metric a counter name and every labelled metric a label value', () => {
    for (const metric of coreCounterMetrics()) {
      expect(metric.name).toMatch(/^egressgw_[a-z_]+_total$/);
      expect(metric.help.length).toBeGreaterThan(10);
    }
    for (const target of Object.values(coreCounterTargets)) {
      expect(target.labelValue === undefined).toBe(target.metric.labelName === undefined);
    }
    const names = coreCounterMetrics().map((m) => m.name);
    expect(new Set(names).size).toBe(names.length);
  });
});
