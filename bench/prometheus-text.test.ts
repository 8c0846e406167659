import { describe, expect, it } from 'vitest';
import { changedSeries, parsePrometheusText } from './prometheus-text.ts';

const scrape = (
  forwarded: number,
  noFlow: number,
) => `# HELP egressgw_forwarded_packets_total Packets forwarded.
# TYPE egressgw_forwarded_packets_total counter
egressgw_forwarded_packets_total ${forwarded}
egressgw_dropped_packets_total{reason="no_flow"} ${noFlow}
egressgw_dropped_packets_total{reason="malformed"} 0
process_cpu_seconds_total 1.5 1700000000000
egressgw_lag_seconds Nan
egressgw_limit +Inf
`;

describe('parsePrometheusText', () => {
  it('keys samples by series and skips comments and timestamps', () => {
    const samples = parsePrometheusText(scrape(7, 1));
    expect(samples.get('egressgw_forwarded_packets_total')).toBe(7);
    expect(samples.get('egressgw_dropped_packets_total{reason="no_flow"}')).toBe(1);
    expect(samples.get('process_cpu_seconds_total')).toBe(1.5);
    expect(samples.get('egressgw_lag_seconds')).toBeNaN();
    expect(samples.get('egressgw_limit')).toBe(Number.POSITIVE_INFINITY);
    expect(samples.size).toBe(6);
  });

  it('refuses lines that are not samples', () => {
    expect(() => parsePrometheusText('<html>not found</html>')).toThrow(RangeError);
    expect(() => parsePrometheusText('egressgw_x abc')).toThrow(RangeError);
  });

  it('lists what changed under a prefix', () => {
    expect(
      changedSeries(
        parsePrometheusText(scrape(7, 1)),
        parsePrometheusText(scrape(107, 4)),
        'egressgw_',
      ),
    ).toEqual({
      egressgw_forwarded_packets_total: 100,
      'egressgw_dropped_packets_total{reason="no_flow"}': 3,
    });
  });
});
