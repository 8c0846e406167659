import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CidrError,
  type CidrPrefix,
  cidrContains,
  cidrRange,
  formatCidr,
  formatIPv4,
  isCanonicalCidr,
  mergeCidrRanges,
  parseCidr,
  parseIPv4,
  rangeToCidrs,
  subtractCidrs,
} from './cidr.ts';

function codeOf(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    if (error instanceof CidrError) return error.code;
    throw error;
  }
  return undefined;
}

function cidrs(...texts: string[]): CidrPrefix[] {
  return texts.map(parseCidr);
}

function texts(list: CidrPrefix[]): string[] {
  return list.map(formatCidr);
}

describe('parseIPv4 / formatIPv4', () => {
  it.each([
    ['0.0.0.0', 0],
    ['10.0.0.1', 0x0a000001],
    ['192.168.1.254', 0xc0a801fe],
    ['255.255.255.255', 0xffffffff],
  ])('%s is %d', (text, value) => {
    expect(parseIPv4(text)).toBe(value);
    expect(formatIPv4(value)).toBe(text);
  });

  it.each([
    '',
    '10.0.0',
    '10.0.0.1.2',
    '10.0.0.256',
    '10.0.0.01', // octal in inet_aton, decimal elsewhere: ambiguous
    '010.0.0.1',
    '00.0.0.1',
    '10.0.0.1 ',
    ' 10.0.0.1',
    '10..0.1',
    '10.0.0.-1',
    '+10.0.0.1',
    '0x0a.0.0.1',
    '1e1.0.0.1',
    '10.0.0.1/32',
    '::1',
    '１0.0.0.1', // fullwidth digit
  ])('rejects %j with EGW_BAD_IP', (text) => {
    expect(codeOf(() => parseIPv4(text))).toBe('EGW_BAD_IP');
  });

  it('names the bad text in the message', () => {
    expect(() => parseIPv4('10.0.0.300')).toThrow(/"10\.0\.0\.300".*octet 300/);
  });

  it('rejects non-strings and non-u32 numbers', () => {
    expect(codeOf(() => parseIPv4(7 as unknown as string))).toBe('EGW_BAD_IP');
    for (const bad of [-1, 2 ** 32, 1.5, Number.NaN]) {
      expect(codeOf(() => formatIPv4(bad))).toBe('EGW_BAD_IP');
    }
  });

  it('round-trips every u32', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (value) => {
        expect(parseIPv4(formatIPv4(value))).toBe(value);
      }),
    );
  });
});

describe('parseCidr', () => {
  it.each([
    ['10.0.0.0/8', 0x0a000000, 8],
    ['10.1.2.3', 0x0a010203, 32],
    ['0.0.0.0/0', 0, 0],
    ['10.0.0.7/24', 0x0a000000, 24], // host bits cleared
    ['255.255.255.255/1', 0x80000000, 1],
  ])('%s', (text, network, prefixLength) => {
    expect(parseCidr(text)).toEqual({ network, prefixLength });
  });

  it.each([
    '10.0.0.0/33',
    '10.0.0.0/',
    '10.0.0.0/08',
    '10.0.0.0/-1',
    '10.0.0.0/8/8',
    '10.0.0.0 /8',
    '10.0.0/8',
    '/8',
    '10.0.0.256/8',
  ])('rejects %j with EGW_BAD_CIDR', (text) => {
    expect(codeOf(() => parseCidr(text))).toBe('EGW_BAD_CIDR');
    expect(codeOf(() => isCanonicalCidr(text))).toBe('EGW_BAD_CIDR');
  });

  it('keeps the reason of a bad address part', () => {
    expect(() => parseCidr('10.0.0.300/24')).toThrow(/"10\.0\.0\.300\/24".*octet 300/);
  });

  it('tells canonical text from text with host bits', () => {
    expect(isCanonicalCidr('10.0.0.0/24')).toBe(true);
    expect(isCanonicalCidr('10.0.0.1')).toBe(true);
    expect(isCanonicalCidr('0.0.0.0/0')).toBe(true);
    expect(isCanonicalCidr('10.0.0.1/24')).toBe(false);
    expect(isCanonicalCidr('1.0.0.0/0')).toBe(false);
  });

  it('contains and range agree with the mask', () => {
    const cidr = parseCidr('192.168.4.0/22');
    expect(cidrRange(cidr)).toEqual([parseIPv4('192.168.4.0'), parseIPv4('192.168.7.255')]);
    expect(cidrContains(cidr, parseIPv4('192.168.7.255'))).toBe(true);
    expect(cidrContains(cidr, parseIPv4('192.168.8.0'))).toBe(false);
    expect(cidrContains(cidr, parseIPv4('192.168.3.255'))).toBe(false);
    expect(cidrRange(parseCidr('0.0.0.0/0'))).toEqual([0, 0xffffffff]);
    expect(cidrContains(parseCidr('0.0.0.0/0'), 0xffffffff)).toBe(true);
    expect(cidrContains(parseCidr('128.0.0.0/1'), 0xffffffff)).toBe(true);
  });
});

describe('rangeToCidrs', () => {
  it.each([
    ['10.0.0.0', '10.0.0.255', ['10.0.0.0/24']],
    ['10.0.0.1', '10.0.0.6', ['10.0.0.1/32', '10.0.0.2/31', '10.0.0.4/31', '10.0.0.6/32']],
    ['0.0.0.0', '255.255.255.255', ['0.0.0.0/0']],
    ['255.255.255.255', '255.255.255.255', ['255.255.255.255/32']],
    ['10.0.0.0', '10.0.1.0', ['10.0.0.0/24', '10.0.1.0/32']],
  ])('%s-%s', (first, last, expected) => {
    expect(texts(rangeToCidrs(parseIPv4(first), parseIPv4(last)))).toEqual(expected);
  });

  it('rejects reversed and out-of-range bounds', () => {
    expect(codeOf(() => rangeToCidrs(5, 4))).toBe('EGW_BAD_RANGE');
    expect(codeOf(() => rangeToCidrs(-1, 4))).toBe('EGW_BAD_IP');
    expect(codeOf(() => rangeToCidrs(0, 2 ** 32))).toBe('EGW_BAD_IP');
  });

  // Minimal count by dynamic programming over the range: the fewest aligned blocks
  // that tile [first, last]. Independent of the greedy in rangeToCidrs.
  function minimalTiling(first: number, last: number): number {
    const best = new Array<number>(last - first + 2).fill(Number.POSITIVE_INFINITY);
    best[0] = 0;
    for (let offset = 0; offset <= last - first; offset++) {
      const start = first + offset;
      for (let size = 1; size <= 2 ** 32; size *= 2) {
        if (start % size !== 0) break;
        if (start + size - 1 > last) break;
        best[offset + size] = Math.min(best[offset + size]!, best[offset]! + 1);
      }
    }
    return best[last - first + 1]!;
  }

  it('covers exactly the range, in order, with the fewest prefixes', () => {
    const bound = fc.integer({ min: 0, max: 600 });
    const base = fc.constantFrom(0, 0x0a000000, 0xffffffff - 600);
    fc.assert(
      fc.property(base, bound, bound, (origin, a, b) => {
        const first = origin + Math.min(a, b);
        const last = origin + Math.max(a, b);
        const list = rangeToCidrs(first, last);
        let expected = first;
        for (const cidr of list) {
          const [low, high] = cidrRange(cidr);
          expect(low).toBe(expected);
          expected = high + 1;
        }
        expect(expected).toBe(last + 1);
        expect(list.length).toBe(minimalTiling(first, last));
      }),
    );
  });

  it('handles wide ranges at the top of the space', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 0, max: 0xffffffff }),
        (a, b) => {
          const first = Math.min(a, b);
          const last = Math.max(a, b);
          const list = rangeToCidrs(first, last);
          expect(list.length).toBeLessThanOrEqual(62);
          expect(cidrRange(list[0]!)[0]).toBe(first);
          expect(cidrRange(list[list.length - 1]!)[1]).toBe(last);
          for (let i = 1; i < list.length; i++) {
            expect(cidrRange(list[i]!)[0]).toBe(cidrRange(list[i - 1]!)[1] + 1);
          }
        },
      ),
    );
  });
});

describe('subtractCidrs', () => {
  it('removes a hole from the middle', () => {
    expect(texts(subtractCidrs(cidrs('10.0.0.0/24'), cidrs('10.0.0.64/26')))).toEqual([
      '10.0.0.0/26',
      '10.0.0.128/25',
    ]);
  });

  it('removes the cluster networks from the whole space', () => {
    const result = subtractCidrs(cidrs('0.0.0.0/0'), cidrs('10.0.0.0/8', '192.168.0.0/16'));
    expect(texts(result)).toEqual([
      '0.0.0.0/5',
      '8.0.0.0/7',
      '11.0.0.0/8',
      '12.0.0.0/6',
      '16.0.0.0/4',
      '32.0.0.0/3',
      '64.0.0.0/2',
      '128.0.0.0/2',
      '192.0.0.0/9',
      '192.128.0.0/11',
      '192.160.0.0/13',
      '192.169.0.0/16',
      '192.170.0.0/15',
      '192.172.0.0/14',
      '192.176.0.0/12',
      '192.192.0.0/10',
      '193.0.0.0/8',
      '194.0.0.0/7',
      '196.0.0.0/6',
      '200.0.0.0/5',
      '208.0.0.0/4',
      '224.0.0.0/3',
    ]);
  });

  it('merges overlapping and adjacent bases', () => {
    expect(texts(subtractCidrs(cidrs('10.0.0.0/25', '10.0.0.128/25', '10.0.0.5'), []))).toEqual([
      '10.0.0.0/24',
    ]);
    expect(subtractCidrs(cidrs('10.0.0.0/24'), cidrs('0.0.0.0/0'))).toEqual([]);
    expect(subtractCidrs([], cidrs('10.0.0.0/8'))).toEqual([]);
  });

  // Brute force over an 8-bit space placed at the top of the address space, so that
  // arithmetic near 2^32 is exercised too.
  const spaceBase = 0xffffff00;
  const smallCidr = fc
    .tuple(fc.integer({ min: 24, max: 32 }), fc.integer({ min: 0, max: 255 }))
    .map(([prefixLength, offset]) =>
      parseCidr(`${formatIPv4(spaceBase + offset)}/${prefixLength}`),
    );

  it('matches a brute-force set difference and is minimal', () => {
    fc.assert(
      fc.property(
        fc.array(smallCidr, { maxLength: 6 }),
        fc.array(smallCidr, { maxLength: 6 }),
        (base, minus) => {
          const expected: boolean[] = [];
          for (let offset = 0; offset < 256; offset++) {
            const address = spaceBase + offset;
            expected.push(
              base.some((c) => cidrContains(c, address)) &&
                !minus.some((c) => cidrContains(c, address)),
            );
          }
          const result = subtractCidrs(base, minus);
          const covered = new Array<number>(256).fill(0);
          for (const cidr of result) {
            const [first, last] = cidrRange(cidr);
            for (let a = first; a <= last; a++) covered[a - spaceBase]!++;
          }
          expect(covered.map((n) => n === 1)).toEqual(expected);
          expect(covered.every((n) => n <= 1)).toBe(true);
          // Minimal: the sum over maximal runs of their minimal tilings.
          const runs = mergeCidrRanges(result);
          const minimum = runs.reduce((sum, [f, l]) => sum + rangeToCidrs(f, l).length, 0);
          expect(result.length).toBe(minimum);
          for (let i = 1; i < result.length; i++) {
            expect(result[i]!.network).toBeGreaterThan(result[i - 1]!.network);
          }
        },
      ),
    );
  });
});
