import { isExpired, remainingMs } from './flow-state.ts';

/**
 * Fragment state of the reference model (assembly/README.md, "Fragments").
 *
 * Invariants:
 * - an entry is keyed by the datagram's (src, dst, proto, id) as its first fragment
 *   arrived, before translation, and says which address later fragments get;
 * - held fragments keep arrival order (the array's order) and are at most HELD_LIMIT;
 * - entries and held fragments live fragmentMs from their arrival: later fragments do
 *   not extend an entry, and a repeated first fragment replaces it.
 */

export const HELD_LIMIT = 64;
export const HELD_MAX_BYTES = 9216;

export interface FragmentRewrite {
  /** Which IPv4 address field the translation replaces. */
  field: 'src' | 'dst';
  address: number;
}

interface Entry {
  rewrite: FragmentRewrite;
  expiryMs: number;
}

export interface HeldFragment {
  key: string;
  /** The slot as it came, virtio header included. */
  slot: Uint8Array;
  expiryMs: number;
}

export function fragmentKey(src: number, dst: number, proto: number, id: number): string {
  return `${src}|${dst}|${proto}|${id}`;
}

export class FragmentState {
  private readonly entries = new Map<string, Entry>();
  private held: HeldFragment[] = [];

  get heldCount(): number {
    return this.held.length;
  }

  record(key: string, rewrite: FragmentRewrite, expiryMs: number): void {
    this.entries.set(key, { rewrite, expiryMs });
  }

  rewriteFor(key: string, nowMs: number): FragmentRewrite | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (isExpired(entry.expiryMs, nowMs)) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.rewrite;
  }

  /** Whether a fragment of `ipLength` bytes (without virtio header) can be held now. */
  canHold(ipLength: number): boolean {
    return ipLength <= HELD_MAX_BYTES && this.held.length < HELD_LIMIT;
  }

  hold(fragment: HeldFragment): void {
    this.held.push(fragment);
  }

  /** Takes the held fragments of a key out, oldest first. */
  release(key: string): HeldFragment[] {
    const released = this.held.filter((fragment) => fragment.key === key);
    this.held = this.held.filter((fragment) => fragment.key !== key);
    return released;
  }

  /** Milliseconds until the first entry or held fragment expires (Infinity if none). */
  msUntilFirstExpiry(nowMs: number): number {
    let soonest = Number.POSITIVE_INFINITY;
    for (const entry of this.entries.values())
      soonest = Math.min(soonest, remainingMs(entry.expiryMs, nowMs));
    for (const fragment of this.held)
      soonest = Math.min(soonest, remainingMs(fragment.expiryMs, nowMs));
    return soonest;
  }

  /** Drops expired entries and held fragments; returns how many held ones expired. */
  removeExpired(nowMs: number): number {
    for (const [key, entry] of [...this.entries]) {
      if (isExpired(entry.expiryMs, nowMs)) this.entries.delete(key);
    }
    const before = this.held.length;
    this.held = this.held.filter((fragment) => !isExpired(fragment.expiryMs, nowMs));
    return before - this.held.length;
  }
}
