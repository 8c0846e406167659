/**
 * Turns a set of prefixes into an interval array: the whole IPv4 space cut at every
 * prefix boundary, each piece labelled with a value computed from the prefixes that
 * contain it, adjacent pieces with equal values merged.
 *
 * Why one stack is enough: two IPv4 prefixes either nest or are disjoint, so the
 * prefixes that contain an address form a chain, outermost first, and a sweep in
 * address order keeps that chain on a stack (push on a prefix's first address, pop after
 * its last). Each prefix is pushed and popped once and each piece is labelled once, so
 * the cost is a sort plus O(pieces x chain depth), the depth being at most 33 distinct
 * prefixes.
 *
 * Output invariants: `starts[0] === 0`, starts strictly ascending, `values[i]` holds for
 * [starts[i], starts[i+1] - 1] (the last one up to 255.255.255.255), and
 * `values[i] !== values[i + 1]`.
 */

export interface PrefixNode<T> {
  first: number;
  last: number;
  prefixLength: number;
  data: T;
}

export interface IntervalArray {
  starts: number[];
  values: number[];
}

const LAST_ADDRESS = 0xffffffff;

/**
 * `nodes` must be distinct prefixes (merge equal ones into one node first); their order
 * does not matter. `labelOf` receives the chain of nodes containing a piece, outermost
 * first; it must not keep the array, which the sweep keeps changing.
 */
export function sweepPrefixes<T>(
  nodes: readonly PrefixNode<T>[],
  labelOf: (chain: readonly PrefixNode<T>[]) => number,
): IntervalArray {
  // Same first address: the shorter prefix contains the longer, so it goes first.
  const sorted = [...nodes].sort((a, b) => a.first - b.first || a.prefixLength - b.prefixLength);
  const starts: number[] = [];
  const values: number[] = [];
  const chain: PrefixNode<T>[] = [];
  let position = 0;

  // Labels [position, end] with the current chain; a no-op when the piece is empty.
  const emitUpTo = (end: number): void => {
    if (end < position) return;
    const value = labelOf(chain);
    if (values.length === 0 || values[values.length - 1] !== value) {
      starts.push(position);
      values.push(value);
    }
    position = end + 1;
  };

  for (const node of sorted) {
    while (chain.length > 0 && chain[chain.length - 1]!.last < node.first) {
      emitUpTo(chain[chain.length - 1]!.last);
      chain.pop();
    }
    emitUpTo(node.first - 1);
    chain.push(node);
  }
  while (chain.length > 0) {
    emitUpTo(chain[chain.length - 1]!.last);
    chain.pop();
  }
  emitUpTo(LAST_ADDRESS);
  return { starts, values };
}

/** Collects data per distinct prefix, ready for sweepPrefixes. */
export class PrefixNodeSet<T> {
  readonly #byKey = new Map<number, PrefixNode<T>>();
  readonly #create: () => T;

  constructor(create: () => T) {
    this.#create = create;
  }

  /** The data of this prefix, created on first use. */
  at(network: number, prefixLength: number): T {
    // network < 2^32 and prefixLength < 64: the key is exact below 2^38.
    const key = network * 64 + prefixLength;
    let node = this.#byKey.get(key);
    if (node === undefined) {
      const last = network + 2 ** (32 - prefixLength) - 1;
      node = { first: network, last, prefixLength, data: this.#create() };
      this.#byKey.set(key, node);
    }
    return node.data;
  }

  nodes(): PrefixNode<T>[] {
    return [...this.#byKey.values()];
  }
}
