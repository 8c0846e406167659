// Internet checksum updates (RFC 1071, RFC 1624).
//
// Values are raw 16-bit words as loaded little-endian from big-endian packets: one's
// complement addition commutes with byte swapping (RFC 1071 section 2(B)), so the sums
// below are correct without swapping and are stored back raw.

@inline function fold(sum: u32): u32 {
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return sum;
}

/**
 * RFC 1624 eqn. 3, HC' = ~(~HC + ~m + m'), for one 16-bit word. Eqn. 3 rather than 2
 * because it never turns a correct checksum into the -0 form.
 */
@inline export function checksumReplace16(checksum: u32, oldWord: u32, newWord: u32): u32 {
  return ~fold((~checksum & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff)) & 0xffff;
}

/** Eqn. 3 for a 32-bit field (an address): two words at once. */
@inline export function checksumReplace32(checksum: u32, oldValue: u32, newValue: u32): u32 {
  const sum =
    (~checksum & 0xffff) +
    (~oldValue & 0xffff) +
    ((~oldValue >> 16) & 0xffff) +
    (newValue & 0xffff) +
    (newValue >> 16);
  return ~fold(sum) & 0xffff;
}

/** Eqn. 3 for an address and a port together (TCP/UDP over the pseudo-header). */
@inline export function checksumReplace48(
  checksum: u32,
  oldAddr: u32,
  newAddr: u32,
  oldPort: u32,
  newPort: u32,
): u32 {
  const sum =
    (~checksum & 0xffff) +
    (~oldAddr & 0xffff) +
    ((~oldAddr >> 16) & 0xffff) +
    (newAddr & 0xffff) +
    (newAddr >> 16) +
    (~oldPort & 0xffff) +
    (newPort & 0xffff);
  return ~fold(sum) & 0xffff;
}

/**
 * A CHECKSUM_PARTIAL field (virtio NEEDS_CSUM) holds the folded pseudo-header sum, not
 * its complement: the device adds the L4 bytes and complements. So an address change is
 * added without the complements of eqn. 3 (S' = S + ~m + m'), and port changes are not
 * added at all (the device sums the header as it then is).
 */
@inline export function partialReplace32(partial: u32, oldValue: u32, newValue: u32): u32 {
  return fold(
    (partial & 0xffff) +
      (~oldValue & 0xffff) +
      ((~oldValue >> 16) & 0xffff) +
      (newValue & 0xffff) +
      (newValue >> 16),
  );
}

/**
 * Full checksum over `len` bytes, raw. The oracle for the incremental forms and the
 * baseline of the checksum benchmark; not used on the packet path.
 */
export function checksumFull(ptr: usize, len: u32, initial: u32): u32 {
  let sum: u64 = <u64>initial;
  let i: u32 = 0;
  for (; i + 1 < len; i += 2) sum += <u64>load<u16>(ptr + i);
  if (i < len) sum += <u64>load<u8>(ptr + i);
  sum = (sum & 0xffffffff) + (sum >> 32);
  return ~fold(<u32>((sum & 0xffffffff) + (sum >> 32))) & 0xffff;
}
