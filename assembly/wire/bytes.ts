// Byte-order helpers. Packet fields are big-endian; WebAssembly loads are little-endian.
// Where only equality, hashing or one's-complement sums are needed, fields are used as
// loaded ("raw") and never swapped: RFC 1071 section 2(B) shows the sum is byte-order
// independent, and equality does not care.

@inline export function loadU16BE(ptr: usize): u32 {
  return <u32>bswap<u16>(load<u16>(ptr));
}

@inline export function storeU16BE(ptr: usize, value: u32): void {
  store<u16>(ptr, bswap<u16>(<u16>value));
}

@inline export function loadU32BE(ptr: usize): u32 {
  return bswap<u32>(load<u32>(ptr));
}

@inline export function storeU32BE(ptr: usize, value: u32): void {
  store<u32>(ptr, bswap<u32>(value));
}

/** A raw 16-bit field (as loaded little-endian) to its numeric value. */
@inline export function rawToU16(raw: u32): u32 {
  return <u32>bswap<u16>(<u16>raw);
}

/** A numeric 16-bit value to the raw form that load<u16> would return for it. */
@inline export function u16ToRaw(value: u32): u32 {
  return <u32>bswap<u16>(<u16>value);
}
