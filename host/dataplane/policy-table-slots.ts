import type { IPv4 } from '../model/addresses.ts';
import { formatIPv4, parseIPv4 } from '../model/cidr.ts';
import { PolicyTableError } from './policy-table-errors.ts';

/**
 * Gives each egress address a slot in [0, maxEgress): the core keeps its port bitmaps
 * per slot, and flows refer to their address by slot.
 *
 * Invariants:
 *  - an address that stays from one table to the next keeps its slot;
 *  - no two addresses of one table share a slot;
 *  - a new address takes the free slot whose last use is oldest (never used counts as
 *    oldest, ties go to the lowest slot). A slot freed by the previous table is taken
 *    only when nothing else is free: flows of the old address may still name that slot
 *    until the core rechecks them against the new table, so reusing it at once would
 *    hand their ports to another address.
 */
export class SlotAllocator {
  readonly maxEgress: number;
  /** Slot of each address of the last table, keyed by dotted quad. */
  #slots = new Map<IPv4, number>();
  /** Per slot: the number of the last table that used it, -1 for never. */
  readonly #lastUsed: Int32Array;
  #table = 0;

  constructor(maxEgress: number) {
    if (!Number.isInteger(maxEgress) || maxEgress < 1) {
      throw new PolicyTableError(
        'EGW_BAD_SLOT',
        `maxEgress ${maxEgress} is not a positive integer`,
      );
    }
    this.maxEgress = maxEgress;
    this.#lastUsed = new Int32Array(maxEgress).fill(-1);
  }

  /** The slot of an address in the last assigned table. */
  slotOf(ip: IPv4): number | undefined {
    return this.#slots.get(ip);
  }

  /**
   * Slots for the addresses of the next table, recorded as the allocator's state.
   * Call once per compiled table. Throws EGW_BAD_IP or EGW_TOO_MANY_EGRESS and then
   * leaves the state unchanged.
   */
  assign(ips: Iterable<IPv4>): Map<IPv4, number> {
    const wanted = new Set<IPv4>();
    for (const ip of ips) {
      try {
        // Strict parsing has one spelling per address, so the text is the key.
        wanted.add(formatIPv4(parseIPv4(ip)));
      } catch (error) {
        throw new PolicyTableError('EGW_BAD_IP', `egress address: ${(error as Error).message}`);
      }
    }
    if (wanted.size > this.maxEgress) {
      throw new PolicyTableError(
        'EGW_TOO_MANY_EGRESS',
        `${wanted.size} egress addresses, but the core has ${this.maxEgress} slots`,
      );
    }
    const next = new Map<IPv4, number>();
    const taken = new Uint8Array(this.maxEgress);
    for (const ip of wanted) {
      const slot = this.#slots.get(ip);
      if (slot !== undefined) {
        next.set(ip, slot);
        taken[slot] = 1;
      }
    }
    const free: number[] = [];
    for (let slot = 0; slot < this.maxEgress; slot++) if (taken[slot] === 0) free.push(slot);
    free.sort((a, b) => this.#lastUsed[a]! - this.#lastUsed[b]! || a - b);
    let cursor = 0;
    for (const ip of wanted) {
      if (!next.has(ip)) next.set(ip, free[cursor++]!);
    }
    this.#table++;
    for (const slot of next.values()) this.#lastUsed[slot] = this.#table;
    this.#slots = next;
    return new Map(next);
  }
}
