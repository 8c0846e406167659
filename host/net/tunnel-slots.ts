import { NetError } from './exec.ts';

/**
 * Slots of the tunnelled groups: each slot is a mark value and a routing table. A group
 * keeps its slot for as long as it is tunnelled, so that adding or removing another group
 * never renumbers it: a renumbering would be applied in two steps (nft marks, then
 * rules) and route a group's packets through another group's table in between.
 *
 * Invariants: slots are from 1 to `capacity`; no two current groups share one; a freed
 * slot is reused only by a group that arrives later.
 */
export class TunnelSlots {
  readonly #capacity: number;
  readonly #slots = new Map<string, number>();

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  /** Slots for exactly these ids: kept for old ones, the lowest free ones for new ones. */
  assign(ids: readonly string[]): ReadonlyMap<string, number> {
    const wanted = new Set(ids);
    if (wanted.size > this.#capacity) {
      throw new NetError(
        'EGW_NET_BAD_ROLE',
        `steering tunnel: ${wanted.size} groups need slots, the mark field holds ${this.#capacity}`,
      );
    }
    for (const id of this.#slots.keys()) if (!wanted.has(id)) this.#slots.delete(id);
    const used = new Set(this.#slots.values());
    let next = 1;
    for (const id of [...wanted].sort()) {
      if (this.#slots.has(id)) continue;
      while (used.has(next)) next++;
      this.#slots.set(id, next);
      used.add(next);
    }
    return new Map(this.#slots);
  }
}
