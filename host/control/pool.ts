import type { ExternalIPPool } from '../api/antrea.ts';
import { isUsable, type PoolRange, poolRange, usableCount } from '../api/ip-ranges.ts';

/**
 * An ExternalIPPool as the allocator sees it: its ranges in spec order and how many
 * usable addresses they hold (api/ip-ranges.ts says which addresses of a cidr count).
 * Ranges of a valid pool do not overlap (api/semantic.ts), so `total` counts no address
 * twice.
 */
export interface PoolView {
  name: string;
  ranges: PoolRange[];
  total: number;
}

export function poolView(pool: ExternalIPPool): PoolView {
  const ranges = pool.spec.ipRanges.map(poolRange);
  return {
    name: pool.metadata.name,
    ranges,
    total: ranges.reduce((sum, range) => sum + usableCount(range), 0),
  };
}

export function poolHas(view: PoolView, address: number): boolean {
  return view.ranges.some((range) => isUsable(range, address));
}

/**
 * The lowest usable address of the first range (in spec order) that still has one free,
 * or null when every usable address is in `taken`. This is Antrea's order
 * (MultiIPAllocator.AllocateNext walks the ranges in order, each from its low end).
 * Each step past the first in a range skips an address of `taken`, so the loop runs at
 * most |taken| + (number of ranges) times, whatever the size of the pool.
 */
export function firstFree(view: PoolView, taken: { has(address: number): boolean }): number | null {
  for (const range of view.ranges) {
    for (let address = range.usableFirst; address <= range.usableLast; address++) {
      if (!taken.has(address)) return address;
    }
  }
  return null;
}
