/**
 * Who holds which egress address, cluster-wide. Every egress address (a gateway's VIP, an
 * Egress's static or pool IP) has exactly one owner; a second claimant is refused and told
 * who holds it. compile() feeds claims in a fixed order (ordering.ts), so the same
 * objects always give the same owners, and an older object is never pushed out by a newer
 * one: nothing else is disturbed by a conflicting object.
 */
export class AddressBook {
  readonly #owners = new Map<number, string>();

  /** Records `owner` for `address`; returns null on success, the current owner otherwise. */
  claim(address: number, owner: string): string | null {
    const current = this.#owners.get(address);
    if (current !== undefined && current !== owner) return current;
    this.#owners.set(address, owner);
    return null;
  }

  has(address: number): boolean {
    return this.#owners.has(address);
  }

  /** How many claimed addresses satisfy `inside`. */
  count(inside: (address: number) => boolean): number {
    let n = 0;
    for (const address of this.#owners.keys()) if (inside(address)) n++;
    return n;
  }
}
