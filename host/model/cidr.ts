/**
 * IPv4 addresses and prefixes as numbers: parsing, formatting and set arithmetic.
 *
 * Invariants every function here keeps:
 *  - an address is a u32 held in a JS number, host order (`10.0.0.1` is 0x0a000001),
 *    always in [0, 2^32); never a negative int32;
 *  - a parsed prefix is normalised: `network` has no bits set below `prefixLength`;
 *  - lists of prefixes returned here are sorted by address, disjoint and minimal.
 *
 * Pure functions, no I/O, no imports: the control plane, the validation and the policy
 * table compiler all share them.
 */

export type CidrErrorCode = 'EGW_BAD_IP' | 'EGW_BAD_CIDR' | 'EGW_BAD_RANGE';

/** Bad address, prefix or range text; `text` is the offending input as given. */
export class CidrError extends Error {
  readonly code: CidrErrorCode;
  readonly text: string;

  constructor(code: CidrErrorCode, text: string, reason: string) {
    super(`${describe(code)} ${JSON.stringify(text)}: ${reason}`);
    this.name = 'CidrError';
    this.code = code;
    this.text = text;
  }
}

function describe(code: CidrErrorCode): string {
  if (code === 'EGW_BAD_IP') return 'invalid IPv4 address';
  if (code === 'EGW_BAD_CIDR') return 'invalid IPv4 CIDR';
  return 'invalid IPv4 range';
}

/** An IPv4 prefix: `network` is a u32 with the host bits clear. */
export interface CidrPrefix {
  network: number;
  prefixLength: number;
}

const ADDRESS_SPACE = 2 ** 32;
// One octet: "0", or 1-3 digits without a leading zero. "010" is rejected because
// inet_aton reads it as octal (8) while others read it as decimal (10).
const OCTET = '(?:0|[1-9][0-9]{0,2})';
const DOTTED_QUAD = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}$`);
const PREFIX_LENGTH = /^(?:0|[1-9][0-9]?)$/;

/** Parses a strict dotted quad ("10.0.0.1") into a u32. Throws CidrError EGW_BAD_IP. */
export function parseIPv4(text: string): number {
  if (typeof text !== 'string') {
    throw new CidrError('EGW_BAD_IP', String(text), 'not a string');
  }
  if (!DOTTED_QUAD.test(text)) {
    throw new CidrError(
      'EGW_BAD_IP',
      text,
      'expected four decimal octets a.b.c.d without leading zeros',
    );
  }
  let address = 0;
  for (const part of text.split('.')) {
    const octet = Number(part);
    if (octet > 255) throw new CidrError('EGW_BAD_IP', text, `octet ${part} is above 255`);
    address = address * 256 + octet;
  }
  return address;
}

/** True when `value` is an integer address in [0, 2^32). */
export function isU32(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value < ADDRESS_SPACE;
}

function checkAddress(value: number): void {
  if (!isU32(value)) {
    throw new CidrError('EGW_BAD_IP', String(value), 'not an integer in [0, 2^32)');
  }
}

/** Formats a u32 as a dotted quad. Throws CidrError EGW_BAD_IP for a non-u32. */
export function formatIPv4(address: number): string {
  checkAddress(address);
  return `${address >>> 24}.${(address >>> 16) & 255}.${(address >>> 8) & 255}.${address & 255}`;
}

/** The netmask of a prefix length as a u32 (0 for /0). */
export function prefixMask(prefixLength: number): number {
  return prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
}

/** Number of addresses in a prefix of this length (2^32 for /0). */
export function prefixSize(prefixLength: number): number {
  return 2 ** (32 - prefixLength);
}

interface SplitCidr {
  address: number;
  prefixLength: number;
}

function splitCidr(text: string): SplitCidr {
  if (typeof text !== 'string') {
    throw new CidrError('EGW_BAD_CIDR', String(text), 'not a string');
  }
  const slash = text.indexOf('/');
  const addressText = slash < 0 ? text : text.slice(0, slash);
  let address: number;
  try {
    address = parseIPv4(addressText);
  } catch (error) {
    const reason = error instanceof CidrError ? error.message : String(error);
    throw new CidrError('EGW_BAD_CIDR', text, reason);
  }
  if (slash < 0) return { address, prefixLength: 32 };
  const lengthText = text.slice(slash + 1);
  if (!PREFIX_LENGTH.test(lengthText) || Number(lengthText) > 32) {
    throw new CidrError(
      'EGW_BAD_CIDR',
      text,
      `prefix length ${JSON.stringify(lengthText)} is not a number from 0 to 32`,
    );
  }
  return { address, prefixLength: Number(lengthText) };
}

/**
 * Parses "a.b.c.d/n" (a bare address means /32). Host bits are accepted and cleared
 * ("10.0.0.7/24" is 10.0.0.0/24); `isCanonicalCidr` tells validation to warn about them.
 * Throws CidrError EGW_BAD_CIDR.
 */
export function parseCidr(text: string): CidrPrefix {
  const { address, prefixLength } = splitCidr(text);
  return { network: (address & prefixMask(prefixLength)) >>> 0, prefixLength };
}

/**
 * True when the text has no host bits set, i.e. parseCidr does not change its meaning
 * silently. Throws CidrError EGW_BAD_CIDR when the text is not a CIDR at all.
 */
export function isCanonicalCidr(text: string): boolean {
  const { address, prefixLength } = splitCidr(text);
  return (address & ~prefixMask(prefixLength)) === 0;
}

/** "a.b.c.d/n" of a parsed prefix. */
export function formatCidr(cidr: CidrPrefix): string {
  return `${formatIPv4(cidr.network)}/${cidr.prefixLength}`;
}

/** Whether `address` (a u32) lies in the prefix. */
export function cidrContains(cidr: CidrPrefix, address: number): boolean {
  return (address & prefixMask(cidr.prefixLength)) >>> 0 === cidr.network;
}

/** First and last address of the prefix, inclusive. */
export function cidrRange(cidr: CidrPrefix): [first: number, last: number] {
  return [cidr.network, cidr.network + prefixSize(cidr.prefixLength) - 1];
}

/**
 * The fewest prefixes that cover exactly [first, last] (inclusive), in address order.
 * Greedy from the low end: at each step take the largest aligned block that fits, which
 * is optimal because any prefix inside the range is one of these blocks or inside one.
 * Throws CidrError EGW_BAD_IP for a non-u32 bound, EGW_BAD_RANGE when first > last.
 */
export function rangeToCidrs(first: number, last: number): CidrPrefix[] {
  checkAddress(first);
  checkAddress(last);
  if (first > last) {
    throw new CidrError(
      'EGW_BAD_RANGE',
      `${formatIPv4(first)}-${formatIPv4(last)}`,
      'start is above end',
    );
  }
  const result: CidrPrefix[] = [];
  let start = first;
  while (start <= last) {
    let prefixLength = 0;
    // Shrink the block until it is aligned at `start` and ends inside the range.
    while (start % prefixSize(prefixLength) !== 0 || start + prefixSize(prefixLength) - 1 > last) {
      prefixLength++;
    }
    result.push({ network: start, prefixLength });
    start += prefixSize(prefixLength);
  }
  return result;
}

/** Inclusive address range. */
export type AddressRange = [first: number, last: number];

/** The union of the prefixes as sorted, disjoint, non-adjacent ranges. */
export function mergeCidrRanges(cidrs: readonly CidrPrefix[]): AddressRange[] {
  const ranges = cidrs.map(cidrRange).sort((a, b) => a[0] - b[0]);
  const merged: AddressRange[] = [];
  for (const [first, last] of ranges) {
    const previous = merged[merged.length - 1];
    if (previous !== undefined && first <= previous[1] + 1) {
      if (last > previous[1]) previous[1] = last;
    } else {
      merged.push([first, last]);
    }
  }
  return merged;
}

/**
 * The fewest prefixes covering every address in some `base` prefix and in no `minus`
 * prefix, in address order. Minimal because each maximal run of covered addresses is
 * split optimally (rangeToCidrs) and no prefix of the answer can span two runs.
 */
export function subtractCidrs(
  base: readonly CidrPrefix[],
  minus: readonly CidrPrefix[],
): CidrPrefix[] {
  const removed = mergeCidrRanges(minus);
  const result: CidrPrefix[] = [];
  let cursor = 0; // first removed range that may still overlap, both lists being sorted
  for (const [first, last] of mergeCidrRanges(base)) {
    let start = first;
    while (cursor < removed.length && removed[cursor]![1] < start) cursor++;
    let index = cursor;
    while (start <= last && index < removed.length && removed[index]![0] <= last) {
      const [removedFirst, removedLast] = removed[index]!;
      if (removedFirst > start) result.push(...rangeToCidrs(start, removedFirst - 1));
      start = Math.max(start, removedLast + 1);
      index++;
    }
    if (start <= last) result.push(...rangeToCidrs(start, last));
  }
  return result;
}
