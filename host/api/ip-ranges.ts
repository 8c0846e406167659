import { cidrRange, parseCidr, parseIPv4 } from '../model/cidr.ts';
import type { IPRange } from './antrea.ts';

/**
 * The address ranges of an ExternalIPPool, as numbers: what the overlap check and the
 * allocator both read, so they agree on what a pool holds.
 *
 * Which addresses of a `cidr` entry are usable follows Antrea's ExternalIPPool controller
 * (pkg/controller/externalippool: NewCIDRAllocator starts at network+1 and the IPv4
 * broadcast address is reserved), except for /31 and /32, where Antrea ends up with no
 * usable address at all: egressgw uses both addresses of a /31 (RFC 3021 point-to-point
 * links have no network or broadcast address) and the one address of a /32. A start/end
 * entry gives every address from start to end inclusive, as in Antrea.
 */

export interface PoolRange {
  /** All addresses the entry spans, inclusive (the whole prefix for a cidr). */
  first: number;
  last: number;
  /** The addresses that may be handed out, inclusive; usableFirst > usableLast if none. */
  usableFirst: number;
  usableLast: number;
  /** The entry as the user wrote it, for messages: "10.10.0.2-10.10.0.10", "10.10.1.0/28". */
  text: string;
}

/** Throws CidrError for bad text; the caller has checked the schema (exactly one form). */
export function poolRange(range: IPRange): PoolRange {
  if (range.cidr !== undefined) {
    const prefix = parseCidr(range.cidr);
    const [first, last] = cidrRange(prefix);
    const reserveEnds = prefix.prefixLength <= 30;
    return {
      first,
      last,
      usableFirst: reserveEnds ? first + 1 : first,
      usableLast: reserveEnds ? last - 1 : last,
      text: range.cidr,
    };
  }
  const first = parseIPv4(range.start ?? '');
  const last = parseIPv4(range.end ?? '');
  return {
    first,
    last,
    usableFirst: first,
    usableLast: last,
    text: `${range.start}-${range.end}`,
  };
}

/** Number of usable addresses in the range. */
export function usableCount(range: PoolRange): number {
  return Math.max(0, range.usableLast - range.usableFirst + 1);
}

export function isUsable(range: PoolRange, address: number): boolean {
  return address >= range.usableFirst && address <= range.usableLast;
}
