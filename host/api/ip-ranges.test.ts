import { describe, expect, it } from 'vitest';
import { formatIPv4 } from '../model/cidr.ts';
import { isUsable, poolRange, usableCount } from './ip-ranges.ts';

const usable = (range: ReturnType<typeof poolRange>) =>
  [range.usableFirst, range.usableLast].map(formatIPv4);

describe('poolRange', () => {
  it('start/end: every address, inclusive', () => {
    const range = poolRange({ start: '10.10.0.2', end: '10.10.0.10' });
    expect(usable(range)).toEqual(['10.10.0.2', '10.10.0.10']);
    expect(usableCount(range)).toBe(9);
    expect(range.text).toBe('10.10.0.2-10.10.0.10');
  });

  it.each([
    ['10.10.1.0/28', '10.10.1.1', '10.10.1.14', 14],
    ['10.10.1.0/30', '10.10.1.1', '10.10.1.2', 2],
    ['10.10.1.0/31', '10.10.1.0', '10.10.1.1', 2],
    ['10.10.1.9/32', '10.10.1.9', '10.10.1.9', 1],
    ['10.10.1.7/24', '10.10.1.1', '10.10.1.254', 254],
  ])('cidr %s: usable %s to %s (%i)', (cidr, first, last, count) => {
    const range = poolRange({ cidr });
    expect(usable(range)).toEqual([first, last]);
    expect(usableCount(range)).toBe(count);
  });

  it('the whole prefix counts for overlaps, only the usable part for allocation', () => {
    const range = poolRange({ cidr: '10.10.1.0/28' });
    expect([range.first, range.last].map(formatIPv4)).toEqual(['10.10.1.0', '10.10.1.15']);
    expect(isUsable(range, range.first)).toBe(false);
    expect(isUsable(range, range.first + 1)).toBe(true);
    expect(isUsable(range, range.last)).toBe(false);
  });

  it('a backwards range has no usable address', () => {
    expect(usableCount(poolRange({ start: '10.0.0.9', end: '10.0.0.1' }))).toBe(0);
  });
});
