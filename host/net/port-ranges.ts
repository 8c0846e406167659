/**
 * Lists of port ranges in the syntax of net.ipv4.ip_local_reserved_ports ("80,61000-65535",
 * empty for none), and the set arithmetic the sysctl reconciler needs to add our range to
 * whatever others reserved and to take back only what we added.
 *
 * Invariant of every list returned here: sorted, disjoint, non-adjacent ranges of ports in
 * [1, 65535] (port 0 is never reserved), so two lists are equal as sets exactly when their
 * formatted texts are equal.
 */

export type PortRange = [first: number, last: number];

export class PortRangeError extends Error {
  readonly code = 'EGW_BAD_PORT_RANGE';
  constructor(text: string, reason: string) {
    super(`invalid port range list ${JSON.stringify(text)}: ${reason}`);
    this.name = 'PortRangeError';
  }
}

const PORT = /^(?:0|[1-9][0-9]{0,4})$/;

function port(text: string, whole: string): number {
  if (!PORT.test(text) || Number(text) > 65535) {
    throw new PortRangeError(whole, `${JSON.stringify(text)} is not a port`);
  }
  return Number(text);
}

/** Sorts, merges overlapping and adjacent ranges, drops port 0. */
export function normalizePortRanges(ranges: readonly PortRange[]): PortRange[] {
  const sorted = ranges
    .map(([first, last]): PortRange => [Math.max(first, 1), last])
    .filter(([first, last]) => first <= last)
    .sort((a, b) => a[0] - b[0]);
  const merged: PortRange[] = [];
  for (const [first, last] of sorted) {
    const previous = merged[merged.length - 1];
    if (previous !== undefined && first <= previous[1] + 1) {
      previous[1] = Math.max(previous[1], last);
    } else {
      merged.push([first, last]);
    }
  }
  return merged;
}

/** Parses the sysctl's text (the kernel prints it sorted; users may write any order). */
export function parsePortRanges(text: string): PortRange[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  const ranges: PortRange[] = [];
  for (const part of trimmed.split(',')) {
    const dash = part.indexOf('-');
    const first = port(dash < 0 ? part : part.slice(0, dash), text);
    const last = dash < 0 ? first : port(part.slice(dash + 1), text);
    if (first > last) throw new PortRangeError(text, `${part} runs backwards`);
    ranges.push([first, last]);
  }
  return normalizePortRanges(ranges);
}

export function formatPortRanges(ranges: readonly PortRange[]): string {
  return normalizePortRanges(ranges)
    .map(([first, last]) => (first === last ? String(first) : `${first}-${last}`))
    .join(',');
}

export function unionPortRanges(a: readonly PortRange[], b: readonly PortRange[]): PortRange[] {
  return normalizePortRanges([...a, ...b]);
}

/** Ports in `base` and not in `minus`. */
export function subtractPortRanges(
  base: readonly PortRange[],
  minus: readonly PortRange[],
): PortRange[] {
  const removed = normalizePortRanges(minus);
  const result: PortRange[] = [];
  for (const [first, last] of normalizePortRanges(base)) {
    let start = first;
    for (const [removedFirst, removedLast] of removed) {
      if (removedLast < start || removedFirst > last) continue;
      if (removedFirst > start) result.push([start, removedFirst - 1]);
      start = Math.max(start, removedLast + 1);
    }
    if (start <= last) result.push([start, last]);
  }
  return normalizePortRanges(result);
}

/** Whether every port of `inner` is in `outer`. */
export function containsPortRanges(outer: readonly PortRange[], inner: readonly PortRange[]) {
  return subtractPortRanges(inner, outer).length === 0;
}
