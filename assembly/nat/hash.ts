// Hashes for the flow and mapping indexes and for port selection.

/** lowbias32 (Chris Wellons' hash-prospector): full avalanche in five operations. */
@inline export function mix32(x: u32): u32 {
  x ^= x >> 16;
  x *= 0x7feb352d;
  x ^= x >> 15;
  x *= 0x846ca68b;
  x ^= x >> 16;
  return x;
}

/**
 * Where the search for a free port starts when the internal port cannot be kept
 * (assembly/README.md gives the same formula; the reference model follows it). Inputs
 * are host order.
 */
export function portHash(seedValue: u32, ip: u32, port: u32, proto: u32): u32 {
  return mix32(mix32(seedValue ^ ip) ^ ((port << 8) | proto));
}

/**
 * A tuple's hash, seeded so that remote parties cannot aim collisions at one chain.
 * Addresses and ports are raw (as loaded); only equality of tuples matters here.
 */
@inline export function tupleHash(
  seedValue: u32,
  proto: u32,
  src: u32,
  dst: u32,
  srcPort: u32,
  dstPort: u32,
): u32 {
  let h: u64 = ((<u64>src << 32) | <u64>dst) ^ (<u64>seedValue * 0x9e3779b97f4a7c15);
  h *= 0xbf58476d1ce4e5b9;
  h ^= ((<u64>srcPort << 32) | (<u64>dstPort << 16) | <u64>proto) * 0x94d049bb133111eb;
  h ^= h >> 31;
  h *= 0xd6e8feb86659fd93;
  h ^= h >> 32;
  return <u32>h;
}
