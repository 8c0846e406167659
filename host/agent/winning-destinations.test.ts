import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cidrContains, parseCidr } from '../model/cidr.ts';
import { winningDestinations } from './winning-destinations.ts';

describe('winningDestinations', () => {
  it('gives a more specific destination to its rule and the rest to the wider one', () => {
    const won = winningDestinations([
      { destinations: ['0.0.0.0/0'], excluded: ['10.0.0.0/8'] },
      { destinations: ['203.0.113.0/24'], excluded: [] },
    ]);
    expect(won[1]).toEqual(['203.0.113.0/24']);
    expect(won[0]).not.toContain('10.0.0.0/8');
    expect(won[0]).toContain('0.0.0.0/5');
    expect(won[0]).toContain('203.0.112.0/24');
  });

  it('lets an excluded destination fall through to the next rule', () => {
    const won = winningDestinations([
      { destinations: ['203.0.113.0/24'], excluded: ['203.0.113.128/25'] },
      { destinations: ['203.0.113.0/24'], excluded: [] },
    ]);
    expect(won).toEqual([['203.0.113.0/25'], ['203.0.113.128/25']]);
  });

  it('breaks ties by precedence order', () => {
    expect(
      winningDestinations([
        { destinations: ['198.51.100.0/24'], excluded: [] },
        { destinations: ['198.51.100.0/24'], excluded: [] },
      ]),
    ).toEqual([['198.51.100.0/24'], []]);
  });

  it('agrees with the per-packet resolution of NatPolicy on random rules', () => {
    const prefix = fc
      .tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 32 }))
      .map(([address, length]) => {
        const network = length === 0 ? 0 : (address & ~((2 ** (32 - length) - 1) >>> 0)) >>> 0;
        return `${network >>> 24}.${(network >>> 16) & 255}.${(network >>> 8) & 255}.${network & 255}/${length}`;
      });
    const rule = fc.record({
      destinations: fc.array(prefix, { maxLength: 3 }),
      excluded: fc.array(prefix, { maxLength: 2 }),
    });
    fc.assert(
      fc.property(
        fc.array(rule, { minLength: 1, maxLength: 4 }),
        fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 1, maxLength: 20 }),
        (rules, probes) => {
          const won = winningDestinations(rules);
          const probeAll = [
            ...probes,
            ...rules.flatMap((r) => r.destinations.map((d) => parseCidr(d).network)),
          ];
          for (const address of probeAll) {
            // Reference: the resolution rule written out directly.
            let expected = -1;
            let best = -1;
            rules.forEach((r, index) => {
              if (r.excluded.some((e) => cidrContains(parseCidr(e), address))) return;
              for (const d of r.destinations) {
                const cidr = parseCidr(d);
                if (cidrContains(cidr, address) && cidr.prefixLength > best) {
                  best = cidr.prefixLength;
                  expected = index;
                }
              }
            });
            const actual = won.findIndex((list) =>
              list.some((d) => cidrContains(parseCidr(d), address)),
            );
            expect(actual).toBe(expected);
          }
        },
      ),
    );
  });

  it('rejects a malformed prefix', () => {
    expect(() => winningDestinations([{ destinations: ['10.0.0.0/33'], excluded: [] }])).toThrow();
  });
});
