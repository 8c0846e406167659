import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  containsPortRanges,
  formatPortRanges,
  type PortRange,
  PortRangeError,
  parsePortRanges,
  subtractPortRanges,
  unionPortRanges,
} from './port-ranges.ts';

describe('parsePortRanges / formatPortRanges', () => {
  it.each([
    ['', [], ''],
    ['  \n', [], ''],
    ['80', [[80, 80]], '80'],
    [
      '61000-65535,80',
      [
        [80, 80],
        [61000, 65535],
      ],
      '80,61000-65535',
    ],
    ['10-20,15-30,31', [[10, 31]], '10-31'],
    ['0-5', [[1, 5]], '1-5'], // port 0 is never reserved
    ['0', [], ''],
  ] as [string, PortRange[], string][])('%j', (text, ranges, formatted) => {
    expect(parsePortRanges(text)).toEqual(ranges);
    expect(formatPortRanges(ranges)).toBe(formatted);
  });

  it.each(['80,', 'a', '1-', '-5', '70000', '20-10', '1 -2', '08'])('rejects %j', (text) => {
    expect(() => parsePortRanges(text)).toThrow(PortRangeError);
    try {
      parsePortRanges(text);
    } catch (error) {
      expect((error as PortRangeError).code).toBe('EGW_BAD_PORT_RANGE');
    }
  });
});

describe('set arithmetic', () => {
  const SPACE = 64;
  const range = fc
    .tuple(fc.integer({ min: 1, max: SPACE }), fc.integer({ min: 1, max: SPACE }))
    .map(([a, b]): PortRange => [Math.min(a, b), Math.max(a, b)]);
  const members = (ranges: readonly PortRange[]) => {
    const set = new Set<number>();
    for (const [first, last] of ranges) for (let p = first; p <= last; p++) set.add(p);
    return set;
  };
  const expand = (set: Set<number>) => [...set].sort((a, b) => a - b);

  it('union, difference and containment agree with sets of ports', () => {
    fc.assert(
      fc.property(fc.array(range, { maxLength: 5 }), fc.array(range, { maxLength: 5 }), (a, b) => {
        const setA = members(a);
        const setB = members(b);
        expect(expand(members(unionPortRanges(a, b)))).toEqual(expand(new Set([...setA, ...setB])));
        const difference = subtractPortRanges(a, b);
        expect(expand(members(difference))).toEqual(expand(setA).filter((p) => !setB.has(p)));
        expect(containsPortRanges(a, b)).toBe([...setB].every((p) => setA.has(p)));
        // Canonical: formatting and parsing back is the identity on results.
        expect(parsePortRanges(formatPortRanges(difference))).toEqual(difference);
      }),
    );
  });
});
