/**
 * Samples from a Prometheus text exposition (what the agent's /metrics serves), keyed by
 * the series as written (`name` or `name{label="value"}`), for differences between two
 * scrapes. Comments, blank lines and timestamps are skipped; a line that is not a sample
 * is an error, so a wrong endpoint cannot pass for an empty one. Values may be NaN or
 * ±Inf in any case (prom-client writes `Nan` for an event-loop lag not yet measured).
 */

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?)\s+(\S+)(?:\s+-?\d+)?$/;

function sampleValue(text: string): number | undefined {
  const lower = text.toLowerCase();
  if (lower === 'nan') return Number.NaN;
  if (lower === '+inf' || lower === 'inf') return Number.POSITIVE_INFINITY;
  if (lower === '-inf') return Number.NEGATIVE_INFINITY;
  const value = Number(text);
  return Number.isNaN(value) ? undefined : value;
}

export function parsePrometheusText(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = SAMPLE.exec(line);
    const value = match === null ? undefined : sampleValue(match[2]!);
    if (match === null || value === undefined) {
      throw new RangeError(`not a Prometheus sample: ${line.slice(0, 120)}`);
    }
    samples.set(match[1]!, value);
  }
  return samples;
}

/**
 * Series whose name starts with `prefix` that changed between two scrapes, with the
 * change; series without a finite difference (NaN, infinities) are left out.
 */
export function changedSeries(
  before: Map<string, number>,
  after: Map<string, number>,
  prefix: string,
): Record<string, number> {
  const changed: Record<string, number> = {};
  for (const [series, value] of after) {
    if (!series.startsWith(prefix)) continue;
    const difference = value - (before.get(series) ?? 0);
    if (difference !== 0 && Number.isFinite(difference)) changed[series] = difference;
  }
  return changed;
}
