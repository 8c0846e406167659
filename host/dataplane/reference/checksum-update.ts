// Incremental checksum updates as assembly/README.md ("Checksums") defines them, written
// out in the plainest form: 16-bit words in network order, one's-complement sums with
// end-around carry.
//
// Every update of a field goes through here even when the field keeps its value: the
// README's formula applied to m == m' adds 0xffff, which turns a checksum field of 0xffff
// into 0x0000 (both mean the same to a receiver). The core applies the formula the same
// way, and the property tests compare bytes, so the model must not skip such updates.

/** A 16-bit word's old and new value. */
export type WordChange = readonly [oldWord: number, newWord: number];

/** The two 16-bit words of a 32-bit field (an IPv4 address), high word first. */
export function addressChange(oldAddress: number, newAddress: number): WordChange[] {
  return [
    [oldAddress >>> 16, newAddress >>> 16],
    [oldAddress & 0xffff, newAddress & 0xffff],
  ];
}

function fold(sum: number): number {
  let folded = sum;
  while (folded > 0xffff) folded = (folded & 0xffff) + Math.floor(folded / 0x10000);
  return folded;
}

function changeSum(changes: readonly WordChange[]): number {
  let sum = 0;
  for (const [oldWord, newWord] of changes) sum += (~oldWord & 0xffff) + newWord;
  return sum;
}

/** RFC 1624 eqn. 3 over several words: HC' = ~(~HC + sum of (~m + m')). */
export function updateChecksum(checksum: number, changes: readonly WordChange[]): number {
  return ~fold((~checksum & 0xffff) + changeSum(changes)) & 0xffff;
}

/**
 * A CHECKSUM_PARTIAL field holds the folded pseudo-header sum S, not a checksum:
 * S' = S + ~m + m', no complements (the device complements after adding the L4 bytes).
 */
export function updatePartialSum(sum: number, changes: readonly WordChange[]): number {
  return fold(sum + changeSum(changes));
}

/**
 * UDP (RFC 768): a zero checksum means "none" and stays zero; an update that computes
 * zero sends 0xffff instead.
 */
export function updateUdpChecksum(checksum: number, changes: readonly WordChange[]): number {
  if (checksum === 0) return 0;
  const updated = updateChecksum(checksum, changes);
  return updated === 0 ? 0xffff : updated;
}
