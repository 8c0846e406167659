import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Cidr } from '../model/addresses.ts';
import { cidrRange, formatIPv4, parseCidr, parseIPv4 } from '../model/cidr.ts';
import type { EgressAddress, NatPolicy, NatRule } from '../model/nat-policy.ts';
import {
  compilePolicyTable,
  lookupPolicyTable,
  PolicyTableError,
  readPolicyTableHeader,
  SlotAllocator,
} from './policy-table.ts';
import { resolveEgress } from './reference/resolve-egress.ts';

function hex(text: string): Uint8Array {
  return Uint8Array.from(text.replace(/#[^\n]*/g, '').match(/[0-9a-f]{2}/g)!, (b) =>
    Number.parseInt(b, 16),
  );
}

function codeOf(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    if (error instanceof PolicyTableError) return error.code;
    throw error;
  }
  return undefined;
}

function slotsFor(policy: NatPolicy, maxEgress = 64): Map<string, number> {
  return new SlotAllocator(maxEgress).assign(policy.egress.map((e) => e.ip));
}

function compile(policy: NatPolicy): Uint8Array {
  return compilePolicyTable(policy, slotsFor(policy));
}

function lookup(image: Uint8Array, src: string, dst: string): number {
  return lookupPolicyTable(image, parseIPv4(src), parseIPv4(dst));
}

/** Every interval array of the image, decoded independently of the lookup. */
function intervalArrays(image: Uint8Array): { starts: number[]; values: number[] }[] {
  const header = readPolicyTableHeader(image);
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const u32 = (offset: number): number => view.getUint32(offset, true);
  const read = (startsAt: number, valuesAt: number, count: number) => ({
    starts: Array.from({ length: count }, (_, i) => u32(startsAt + i * 4)),
    values: Array.from({ length: count }, (_, i) => u32(valuesAt + i * 4)),
  });
  const { offsets } = header;
  const arrays = [read(offsets.sourceStarts, offsets.sourceGroups, header.sourceCount)];
  let expectedFirst = 0;
  for (let group = 0; group < header.groupCount; group++) {
    const first = u32(offsets.groups + group * 8);
    const count = u32(offsets.groups + group * 8 + 4);
    expect(first).toBe(expectedFirst);
    expectedFirst += count;
    arrays.push(
      read(offsets.destinationStarts + first * 4, offsets.destinationEgress + first * 4, count),
    );
  }
  expect(expectedFirst).toBe(header.destinationCount);
  return arrays;
}

/** Layout invariants: interval arrays start at 0, ascend, merge equal neighbours, and
 * groups are distinct, used, and never all-zero. */
function checkMinimalImage(image: Uint8Array): void {
  const [sources, ...groups] = intervalArrays(image);
  const header = readPolicyTableHeader(image);
  for (const array of [sources!, ...groups]) {
    expect(array.starts[0]).toBe(0);
    for (let i = 1; i < array.starts.length; i++) {
      expect(array.starts[i]).toBeGreaterThan(array.starts[i - 1]!);
      expect(array.values[i]).not.toBe(array.values[i - 1]);
    }
  }
  for (const value of sources!.values) expect(value).toBeLessThanOrEqual(header.groupCount);
  const used = new Set(sources!.values.filter((v) => v > 0));
  expect(used.size).toBe(header.groupCount);
  const contents = new Set<string>();
  for (const group of groups) {
    expect(group.values.some((v) => v !== 0)).toBe(true);
    for (const value of group.values) expect(value).toBeLessThanOrEqual(header.egressCount);
    contents.add(JSON.stringify(group));
  }
  expect(contents.size).toBe(groups.length);
}

describe('compilePolicyTable: the image layout', () => {
  // Two rules: pods 10.0.0.0/30 leave by .1 except to the cluster network; pod 10.0.0.2
  // also reaches 8.8.8.0/24 by .2. Expected bytes worked out by hand from the README.
  const policy: NatPolicy = {
    egress: [
      { ip: '192.0.2.1', portMin: 1024, portMax: 65535 },
      { ip: '192.0.2.2', portMin: 2000, portMax: 3000 },
    ],
    rules: [
      {
        sources: ['10.0.0.0/30'],
        destinations: ['0.0.0.0/0'],
        excluded: ['10.0.0.0/8'],
        egressIP: '192.0.2.1',
      },
      { sources: ['10.0.0.2'], destinations: ['8.8.8.0/24'], excluded: [], egressIP: '192.0.2.2' },
    ],
  };
  const slots = new Map([
    ['192.0.2.1', 3],
    ['192.0.2.2', 0],
  ]);
  const expected = hex(`
    45 47 57 54  01 00 00 00            # magic "EGWT", version 1
    02 00 00 00  05 00 00 00            # egressCount 2, sourceCount 5
    02 00 00 00  08 00 00 00            # groupCount 2, destinationCount 8
    ac 00 00 00                         # byteLength 172
    01 02 00 c0  00 04  ff ff  03 00 00 00   # 192.0.2.1 1024-65535 slot 3
    02 02 00 c0  d0 07  b8 0b  00 00 00 00   # 192.0.2.2 2000-3000 slot 0
    00 00 00 00  00 00 00 0a  02 00 00 0a  03 00 00 0a  04 00 00 0a  # sourceStarts
    00 00 00 00  01 00 00 00  02 00 00 00  01 00 00 00  00 00 00 00  # sourceGroups
    00 00 00 00  03 00 00 00            # group 0 = {rule 0}: first 0, count 3
    03 00 00 00  05 00 00 00            # group 1 = {rules 0, 1}: first 3, count 5
    00 00 00 00  00 00 00 0a  00 00 00 0b                            # 0/0, 10/8, 11/8
    00 00 00 00  00 08 08 08  00 09 08 08  00 00 00 0a  00 00 00 0b  # + 8.8.8/24
    01 00 00 00  00 00 00 00  01 00 00 00
    01 00 00 00  02 00 00 00  01 00 00 00  00 00 00 00  01 00 00 00
  `);

  it('writes the documented bytes', () => {
    expect(expected.length).toBe(172);
    expect(compilePolicyTable(policy, slots, { maxEgress: 4 })).toEqual(expected);
  });

  it('decodes to the documented header and answers lookups', () => {
    const header = readPolicyTableHeader(expected);
    expect(header).toMatchObject({
      egressCount: 2,
      sourceCount: 5,
      groupCount: 2,
      destinationCount: 8,
      byteLength: 172,
      offsets: {
        egress: 28,
        sourceStarts: 52,
        sourceGroups: 72,
        groups: 92,
        destinationStarts: 108,
        destinationEgress: 140,
      },
    });
    expect(lookup(expected, '10.0.0.1', '1.1.1.1')).toBe(0);
    expect(lookup(expected, '10.0.0.1', '8.8.8.8')).toBe(0);
    expect(lookup(expected, '10.0.0.2', '8.8.8.8')).toBe(1);
    expect(lookup(expected, '10.0.0.2', '8.8.9.0')).toBe(0);
    expect(lookup(expected, '10.0.0.2', '10.1.2.3')).toBe(-1);
    expect(lookup(expected, '10.0.0.4', '1.1.1.1')).toBe(-1);
    expect(lookup(expected, '9.255.255.255', '1.1.1.1')).toBe(-1);
  });

  it('writes an empty policy as one source interval and no groups', () => {
    const image = compilePolicyTable({ egress: [], rules: [] }, new Map());
    expect(image).toEqual(
      hex(`45 47 57 54  01 00 00 00  00 00 00 00  01 00 00 00  00 00 00 00  00 00 00 00
           24 00 00 00  00 00 00 00  00 00 00 00   # byteLength 36; sourceStarts [0]; sourceGroups [0]
      `),
    );
    expect(lookupPolicyTable(image, 1, 2)).toBe(-1);
  });

  it('shares one group between rule sets that resolve alike, and drops empty ones', () => {
    const image = compile({
      egress: [{ ip: '192.0.2.1', portMin: 1, portMax: 65535 }],
      rules: [
        { sources: ['10.0.0.1'], destinations: ['8.0.0.0/8'], excluded: [], egressIP: '192.0.2.1' },
        { sources: ['10.0.0.3'], destinations: ['8.0.0.0/8'], excluded: [], egressIP: '192.0.2.1' },
        // Selects pods but translates nothing: all its destinations are excluded.
        {
          sources: ['10.0.0.5'],
          destinations: ['9.0.0.0/8'],
          excluded: ['9.0.0.0/7'],
          egressIP: '192.0.2.1',
        },
      ],
    });
    const header = readPolicyTableHeader(image);
    expect(header.groupCount).toBe(1);
    checkMinimalImage(image);
    expect(lookup(image, '10.0.0.3', '8.1.1.1')).toBe(0);
    expect(lookup(image, '10.0.0.5', '9.1.1.1')).toBe(-1);
  });

  it('lets the decoder reject damaged images', () => {
    const damaged = (at: number, byte: number): Uint8Array => {
      const copy = expected.slice();
      copy[at] = byte;
      return copy;
    };
    expect(codeOf(() => lookupPolicyTable(expected.subarray(0, 20), 0, 0))).toBe('EGW_BAD_TABLE');
    expect(codeOf(() => lookupPolicyTable(expected.subarray(0, 171), 0, 0))).toBe('EGW_BAD_TABLE');
    expect(codeOf(() => lookupPolicyTable(damaged(0, 0), 0, 0))).toBe('EGW_BAD_TABLE');
    expect(codeOf(() => lookupPolicyTable(damaged(4, 2), 0, 0))).toBe('EGW_BAD_TABLE');
    expect(codeOf(() => lookupPolicyTable(damaged(16, 3), 0, 0))).toBe('EGW_BAD_TABLE');
    // sourceGroups[1] points past the groups.
    expect(codeOf(() => lookupPolicyTable(damaged(76, 9), 0x0a000000, 0))).toBe('EGW_BAD_TABLE');
    // An image inside a larger buffer, at an offset, reads the same.
    const padded = new Uint8Array(expected.length + 8);
    padded.set(expected, 8);
    expect(lookupPolicyTable(padded.subarray(8), 0x0a000002, 0x08080808)).toBe(1);
  });
});

describe('compilePolicyTable: validation', () => {
  const egress: EgressAddress[] = [{ ip: '192.0.2.1', portMin: 1024, portMax: 65535 }];
  const rule: NatRule = {
    sources: ['10.0.0.0/24'],
    destinations: ['0.0.0.0/0'],
    excluded: [],
    egressIP: '192.0.2.1',
  };
  const slots = new Map([['192.0.2.1', 0]]);

  it.each<[string, NatPolicy, string, RegExp]>([
    [
      'a bad destination',
      { egress, rules: [rule, { ...rule, destinations: ['8.8.8.0/24', '8.8.8.0/33'] }] },
      'EGW_BAD_CIDR',
      /rules\[1\]\.destinations\[1\].*"8\.8\.8\.0\/33"/,
    ],
    [
      'a bad source',
      { egress, rules: [{ ...rule, sources: ['10.0.0.01'] }] },
      'EGW_BAD_CIDR',
      /rules\[0\]\.sources\[0\]/,
    ],
    [
      'a bad excluded prefix',
      { egress, rules: [{ ...rule, excluded: [42 as unknown as Cidr] }] },
      'EGW_BAD_CIDR',
      /rules\[0\]\.excluded\[0\]/,
    ],
    [
      'an unknown egressIP',
      { egress, rules: [{ ...rule, egressIP: '192.0.2.9' }] },
      'EGW_UNKNOWN_EGRESS',
      /rules\[0\]\.egressIP 192\.0\.2\.9/,
    ],
    [
      'a malformed egressIP',
      { egress, rules: [{ ...rule, egressIP: '192.0.2' }] },
      'EGW_BAD_IP',
      /rules\[0\]\.egressIP.*"192\.0\.2"/,
    ],
    [
      'a malformed egress address',
      { egress: [{ ...egress[0]!, ip: 'gateway' }], rules: [] },
      'EGW_BAD_IP',
      /egress\[0\]\.ip/,
    ],
    [
      'a duplicate egress address',
      { egress: [...egress, { ...egress[0]!, portMin: 2000 }], rules: [] },
      'EGW_DUPLICATE_EGRESS',
      /egress\[1\]\.ip 192\.0\.2\.1 is already egress\[0\]/,
    ],
    [
      'a reversed port range',
      { egress: [{ ...egress[0]!, portMin: 3000, portMax: 2000 }], rules: [] },
      'EGW_BAD_PORT_RANGE',
      /3000-2000/,
    ],
    [
      'port 0',
      { egress: [{ ...egress[0]!, portMin: 0 }], rules: [] },
      'EGW_BAD_PORT_RANGE',
      /0-65535/,
    ],
    [
      'a port above 65535',
      { egress: [{ ...egress[0]!, portMax: 65536 }], rules: [] },
      'EGW_BAD_PORT_RANGE',
      /1024-65536/,
    ],
    [
      'a fractional port',
      { egress: [{ ...egress[0]!, portMin: 1.5 }], rules: [] },
      'EGW_BAD_PORT_RANGE',
      /1\.5/,
    ],
    [
      'rules that are not a list',
      { egress, rules: 'all' as unknown as NatRule[] },
      'EGW_BAD_POLICY',
      /rules is not a list/,
    ],
    [
      'a rule without sources',
      { egress, rules: [{ ...rule, sources: undefined as unknown as Cidr[] }] },
      'EGW_BAD_POLICY',
      /rules\[0\]\.sources is not a list/,
    ],
  ])('rejects %s', (_name, policy, code, message) => {
    expect(codeOf(() => compilePolicyTable(policy, slots))).toBe(code);
    expect(() => compilePolicyTable(policy, slots)).toThrow(message);
  });

  it('checks the slots against the egress addresses and maxEgress', () => {
    const two: NatPolicy = {
      egress: [...egress, { ip: '192.0.2.2', portMin: 1024, portMax: 65535 }],
      rules: [rule],
    };
    const ok = new Map([
      ['192.0.2.1', 1],
      ['192.0.2.2', 0],
    ]);
    expect(() => compilePolicyTable(two, ok, { maxEgress: 2 })).not.toThrow();
    expect(codeOf(() => compilePolicyTable(two, ok, { maxEgress: 1 }))).toBe('EGW_TOO_MANY_EGRESS');
    expect(codeOf(() => compilePolicyTable(two, new Map([['192.0.2.1', 0]])))).toBe('EGW_BAD_SLOT');
    const shared = new Map([
      ['192.0.2.1', 0],
      ['192.0.2.2', 0],
    ]);
    expect(() => compilePolicyTable(two, shared)).toThrow(/192\.0\.2\.2 shares slot 0/);
    const high = new Map([
      ['192.0.2.1', 0],
      ['192.0.2.2', 2],
    ]);
    expect(codeOf(() => compilePolicyTable(two, high, { maxEgress: 2 }))).toBe('EGW_BAD_SLOT');
    expect(codeOf(() => compilePolicyTable(two, new Map([...ok, ['192.0.2.2', -1]])))).toBe(
      'EGW_BAD_SLOT',
    );
  });

  it('accepts host bits in a prefix, as the reference does', () => {
    const policy: NatPolicy = {
      egress,
      rules: [{ ...rule, sources: ['10.0.0.77/24'], destinations: ['8.8.8.8/24'] }],
    };
    const image = compilePolicyTable(policy, slots);
    expect(lookup(image, '10.0.0.1', '8.8.8.1')).toBe(0);
    expect(lookup(image, '10.0.1.1', '8.8.8.1')).toBe(-1);
  });
});

describe('compilePolicyTable against the reference resolution', () => {
  // Prefixes drawn around a few nearby networks, so that sources, destinations and
  // exclusions of different rules overlap, nest and coincide.
  const anchors = ['10.0.0.0', '10.0.0.128', '10.0.1.0', '10.0.3.0', '10.1.0.0'].map(parseIPv4);
  const prefix: fc.Arbitrary<Cidr> = fc.oneof(
    {
      weight: 8,
      arbitrary: fc
        .tuple(
          fc.constantFrom(...anchors),
          fc.integer({ min: 0, max: 300 }),
          fc.integer({ min: 20, max: 32 }),
        )
        .map(([anchor, offset, length]) => `${formatIPv4(anchor + offset)}/${length}`),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom('0.0.0.0/0', '10.0.0.0/8', '10.0.0.0/16', '10.0.0.0/24'),
    },
  );
  const egressIPs = ['192.0.2.1', '192.0.2.2', '192.0.2.3'];
  const policy: fc.Arbitrary<NatPolicy> = fc.integer({ min: 1, max: 3 }).chain((egressCount) => {
    const ips = egressIPs.slice(0, egressCount);
    const rule: fc.Arbitrary<NatRule> = fc.record({
      sources: fc.array(prefix, { maxLength: 3 }),
      destinations: fc.array(prefix, { maxLength: 4 }),
      excluded: fc.array(prefix, { maxLength: 2 }),
      egressIP: fc.constantFrom(...ips),
    });
    return fc.record({
      egress: fc.constant(ips.map((ip) => ({ ip, portMin: 1024, portMax: 65535 }))),
      rules: fc.array(rule, { maxLength: 5 }),
    });
  });

  /** Every prefix's edges and their neighbours: where off-by-one errors live. */
  function boundaries(p: NatPolicy): number[] {
    const all = p.rules.flatMap((r) => [...r.sources, ...r.destinations, ...r.excluded]);
    const edges = new Set<number>([0, 0xffffffff]);
    for (const text of all) {
      const [first, last] = cidrRange(parseCidr(text));
      for (const a of [first - 1, first, last, last + 1])
        if (a >= 0 && a <= 0xffffffff) edges.add(a);
    }
    return [...edges];
  }

  it('lookup(compile(p)) equals resolveEgress(p) everywhere that matters', () => {
    fc.assert(
      fc.property(
        policy,
        fc.array(fc.tuple(fc.nat(), fc.nat(), fc.integer({ min: 0, max: 0xffffffff })), {
          minLength: 40,
          maxLength: 80,
        }),
        (p, picks) => {
          const image = compile(p);
          checkMinimalImage(image);
          const edges = boundaries(p);
          // Mostly edges; some random addresses near the anchors or anywhere.
          const address = (pick: number, random: number): number => {
            if (pick % 4 !== 0) return edges[pick % edges.length]!;
            return pick % 8 === 0 ? random : anchors[pick % anchors.length]! + (random % 1024);
          };
          for (const [a, b, random] of picks) {
            const src = address(a, random);
            const dst = address(b, (random * 7919) >>> 0);
            const expected = resolveEgress(p, src, dst);
            const actual = lookupPolicyTable(image, src, dst);
            if (actual !== expected) {
              throw new Error(
                `src ${formatIPv4(src)} dst ${formatIPv4(dst)}: table ${actual}, reference ${expected}`,
              );
            }
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  it('agrees at every edge pair of a fixed overlapping policy', () => {
    const p: NatPolicy = {
      egress: egressIPs.map((ip) => ({ ip, portMin: 1024, portMax: 65535 })),
      rules: [
        {
          sources: ['10.0.0.0/25'],
          destinations: ['10.1.0.0/16', '10.1.2.0/24'],
          excluded: ['10.1.2.128/25'],
          egressIP: '192.0.2.1',
        },
        {
          sources: ['10.0.0.64/26', '10.0.0.200'],
          destinations: ['10.1.2.0/23'],
          excluded: [],
          egressIP: '192.0.2.2',
        },
        {
          sources: ['10.0.0.0/24'],
          destinations: ['0.0.0.0/0', '10.1.2.129'],
          excluded: ['10.1.0.0/20'],
          egressIP: '192.0.2.3',
        },
        {
          sources: ['10.0.0.0/24'],
          destinations: ['10.1.2.0/24'],
          excluded: [],
          egressIP: '192.0.2.3',
        },
      ],
    };
    const image = compile(p);
    checkMinimalImage(image);
    const edges = boundaries(p);
    for (const src of edges) {
      for (const dst of edges) {
        expect(lookupPolicyTable(image, src, dst), `${formatIPv4(src)} -> ${formatIPv4(dst)}`).toBe(
          resolveEgress(p, src, dst),
        );
      }
    }
  });
});

describe('compilePolicyTable at scale', () => {
  /** xorshift32: a fixed sequence so that every run measures the same policy. */
  function random(seed: number): () => number {
    let state = seed;
    return () => {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      return state >>> 0;
    };
  }

  it('compiles 10,000 destination prefixes and 10,000 pod sources quickly', () => {
    const next = random(0x9e3779b9);
    const destinations: Cidr[] = [];
    for (let i = 0; i < 10_000; i++) {
      const prefixLength = 16 + (next() % 17);
      // Public-looking space 11.0.0.0 - 223.255.255.255; host bits cleared by the parser.
      const address = 0x0b000000 + (next() % (0xe0000000 - 0x0b000000));
      destinations.push(`${formatIPv4(address)}/${prefixLength}`);
    }
    const pods: Cidr[] = [];
    for (let i = 0; i < 10_000; i++) pods.push(formatIPv4(parseIPv4('10.244.0.0') + i * 3 + 1));
    const cluster = ['10.244.0.0/16', '10.96.0.0/12', '192.168.0.0/16'];
    const egress = ['192.0.2.1', '192.0.2.2', '192.0.2.3'].map((ip) => ({
      ip,
      portMin: 1024,
      portMax: 65535,
    }));
    const p: NatPolicy = {
      egress,
      rules: [
        {
          sources: pods.slice(0, 5000),
          destinations: destinations.slice(0, 5000),
          excluded: cluster,
          egressIP: '192.0.2.1',
        },
        {
          sources: pods.slice(2500),
          destinations: destinations.slice(5000),
          excluded: cluster,
          egressIP: '192.0.2.2',
        },
        {
          sources: ['10.244.0.0/16'],
          destinations: ['0.0.0.0/0'],
          excluded: cluster,
          egressIP: '192.0.2.3',
        },
      ],
    };
    const slots = slotsFor(p);
    const started = performance.now();
    const image = compilePolicyTable(p, slots, { maxEgress: 64 });
    const elapsedMs = performance.now() - started;
    const header = readPolicyTableHeader(image);
    console.log(
      `policy table: 10,000 destinations x 10,000 pod sources compiled in ${elapsedMs.toFixed(0)} ms, ` +
        `${image.byteLength} bytes (sources ${header.sourceCount}, groups ${header.groupCount}, ` +
        `destination intervals ${header.destinationCount})`,
    );
    expect(elapsedMs).toBeLessThan(3000);
    expect(header.groupCount).toBe(4); // {0,2}, {0,1,2}, {1,2}, {2}

    // Spot checks against the reference, at destination prefix edges.
    for (let i = 0; i < 24; i++) {
      const src = parseIPv4(pods[next() % 10_000]!);
      const [first, last] = cidrRange(parseCidr(destinations[next() % 10_000]!));
      for (const dst of [first - 1, first, last + 1]) {
        expect(lookupPolicyTable(image, src, dst)).toBe(resolveEgress(p, src, dst));
      }
    }
  });
});
