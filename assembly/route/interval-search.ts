// Interval arrays: `starts` ascending with starts[0] = 0, so every address falls in
// exactly one interval, the one whose start is the last at or below it. The host
// compiles prefix sets into this form (leaf-pushed, adjacent equal values merged), so a
// longest-prefix match becomes one binary search: log2(n) dependent loads, no trie, and
// 8 bytes per interval. 10,000 prefixes make at most 20,001 intervals (15 steps).

/**
 * Value of the interval holding `address` (host order). Comparisons are unsigned, so
 * addresses above 2^31 order correctly.
 */
export function intervalLookup(starts: usize, values: usize, count: u32, address: u32): u32 {
  let base: u32 = 0;
  let n = count;
  // Branch-free halving: the loop runs ceil(log2(count)) times whatever the address.
  while (n > 1) {
    const half = n >> 1;
    const probe = base + half;
    base = load<u32>(starts + (<usize>probe << 2)) <= address ? probe : base;
    n -= half;
  }
  return load<u32>(values + (<usize>base << 2));
}
