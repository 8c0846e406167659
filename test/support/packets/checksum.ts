import { ipToBytes } from './addresses.ts';

/**
 * The Internet checksum computed the plain way (RFC 1071 section 4.1): add 16-bit
 * big-endian words, fold the carries, complement. No incremental tricks: this is the
 * oracle for the core's and the model's incremental updates.
 */

/** One's-complement sum of bytes[start, end), folded to 16 bits; an odd byte is padded. */
export function onesComplementSum(
  bytes: Uint8Array,
  start = 0,
  end = bytes.length,
  initial = 0,
): number {
  let sum = initial;
  let i = start;
  for (; i + 1 < end; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!;
  if (i < end) sum += bytes[i]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

/** The checksum field value for bytes[start, end) with the field itself zeroed. */
export function internetChecksum(
  bytes: Uint8Array,
  start = 0,
  end = bytes.length,
  initial = 0,
): number {
  return ~onesComplementSum(bytes, start, end, initial) & 0xffff;
}

/** Sum of the TCP/UDP pseudo-header (RFC 793 section 3.1, RFC 768), folded. */
export function pseudoHeaderSum(
  src: string,
  dst: string,
  protocol: number,
  length: number,
): number {
  const header = new Uint8Array(12);
  header.set(ipToBytes(src), 0);
  header.set(ipToBytes(dst), 4);
  header[9] = protocol;
  header[10] = (length >>> 8) & 0xff;
  header[11] = length & 0xff;
  return onesComplementSum(header);
}
