import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatIPv4, parseCidr } from '../model/cidr.ts';
import { type PrefixNode, PrefixNodeSet, sweepPrefixes } from './policy-table-sweep.ts';

interface Label {
  id: number;
}

/** Labels each piece with the id of its innermost prefix (0 = none). */
function innermost(chain: readonly PrefixNode<Label>[]): number {
  return chain.length === 0 ? 0 : chain[chain.length - 1]!.data.id;
}

describe('sweepPrefixes', () => {
  it('cuts the space at prefix boundaries and merges equal neighbours', () => {
    const set = new PrefixNodeSet<Label>(() => ({ id: 0 }));
    const add = (text: string, id: number): void => {
      const { network, prefixLength } = parseCidr(text);
      set.at(network, prefixLength).id = id;
    };
    add('10.0.0.0/8', 1);
    add('10.1.0.0/16', 2);
    add('10.1.0.0/24', 3);
    add('255.255.255.255', 4);
    const { starts, values } = sweepPrefixes(set.nodes(), innermost);
    expect(starts.map(formatIPv4)).toEqual([
      '0.0.0.0',
      '10.0.0.0',
      '10.1.0.0',
      '10.1.1.0',
      '10.2.0.0',
      '11.0.0.0',
      '255.255.255.255',
    ]);
    expect(values).toEqual([0, 1, 3, 2, 1, 0, 4]);
  });

  it('gives one piece for an empty set or the whole space', () => {
    expect(sweepPrefixes([], innermost)).toEqual({ starts: [0], values: [0] });
    const set = new PrefixNodeSet<Label>(() => ({ id: 7 }));
    set.at(0, 0);
    expect(sweepPrefixes(set.nodes(), innermost)).toEqual({ starts: [0], values: [7] });
  });

  it('labels every address with its innermost prefix (brute force on 10 bits)', () => {
    const base = 0x0a000000;
    const prefix = fc.tuple(fc.integer({ min: 0, max: 1023 }), fc.integer({ min: 22, max: 32 }));
    fc.assert(
      fc.property(fc.array(prefix, { maxLength: 12 }), (list) => {
        const set = new PrefixNodeSet<Label>(() => ({ id: 0 }));
        const prefixes = list.map(([offset, length]) =>
          parseCidr(`${formatIPv4(base + offset)}/${length}`),
        );
        prefixes.forEach((p, index) => {
          const label = set.at(p.network, p.prefixLength);
          label.id = label.id || index + 1;
        });
        const nodes = set.nodes();
        const { starts, values } = sweepPrefixes(nodes, innermost);
        expect(starts[0]).toBe(0);
        for (let i = 1; i < starts.length; i++) {
          expect(starts[i]).toBeGreaterThan(starts[i - 1]!);
          expect(values[i]).not.toBe(values[i - 1]);
        }
        const labelAt = (address: number): number => {
          let index = 0;
          while (index + 1 < starts.length && starts[index + 1]! <= address) index++;
          return values[index]!;
        };
        for (let address = base - 1; address <= base + 1024; address++) {
          let best: PrefixNode<Label> | undefined;
          for (const node of nodes) {
            if (node.first <= address && address <= node.last) {
              if (best === undefined || node.prefixLength > best.prefixLength) best = node;
            }
          }
          expect(labelAt(address)).toBe(best?.data.id ?? 0);
        }
      }),
      { numRuns: 100 },
    );
  });
});
