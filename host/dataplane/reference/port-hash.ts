// Where the search for a free port starts (assembly/README.md, "Mappings and ports"),
// transcribed: all arithmetic on u32, addresses in host order.

export function mix(value: number): number {
  let x = value >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  x ^= x >>> 16;
  return x >>> 0;
}

export function portHash(seed: number, ip: number, port: number, proto: number): number {
  return mix((mix((seed ^ ip) >>> 0) ^ ((port << 8) | proto)) >>> 0);
}
