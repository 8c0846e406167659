import { describe, expect, it } from 'vitest';
import { mix, portHash } from './port-hash.ts';

// Expected values computed independently (Python, arbitrary-precision integers masked to
// 32 bits) from the formula in assembly/README.md.
describe('portHash', () => {
  it('mixes as the README writes it', () => {
    expect(mix(0)).toBe(0);
    expect(mix(1)).toBe(0x688990c0);
    expect(mix(0xdeadbeef)).toBe(0xe628c683);
  });

  it('hashes seed, address, port and protocol', () => {
    expect(portHash(0, 0x0a000001, 40000, 6)).toBe(115861051);
    expect(portHash(0x12345678, 0x0a000005, 1000, 17)).toBe(364917800);
    expect(portHash(7, 0x0a000002, 5, 1) % 1001).toBe(394);
  });
});
