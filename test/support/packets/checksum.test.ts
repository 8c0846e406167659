import { describe, expect, it } from 'vitest';
import { internetChecksum, onesComplementSum, pseudoHeaderSum } from './checksum.ts';

describe('onesComplementSum', () => {
  it('matches the worked example of RFC 1071 section 3', () => {
    const bytes = Uint8Array.of(0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7);
    expect(onesComplementSum(bytes)).toBe(0xddf2);
    expect(internetChecksum(bytes)).toBe(0x220d);
  });

  it('pads an odd trailing byte with zero', () => {
    expect(onesComplementSum(Uint8Array.of(0x12, 0x34, 0x56))).toBe(0x1234 + 0x5600);
  });

  it('folds carries more than once', () => {
    expect(onesComplementSum(new Uint8Array(8).fill(0xff))).toBe(0xffff);
    expect(onesComplementSum(Uint8Array.of(0xff, 0xff, 0x00, 0x01))).toBe(0x0001);
  });

  it('sums a sub-range and an initial value', () => {
    const bytes = Uint8Array.of(0xaa, 0xbb, 0x00, 0x01, 0x00, 0x02);
    expect(onesComplementSum(bytes, 2, 6, 0x10)).toBe(0x13);
  });
});

describe('pseudoHeaderSum', () => {
  it('adds addresses, protocol and length', () => {
    // 192.168.1.1 -> 192.168.1.2, TCP, 24 bytes: c0a8+0101+c0a8+0102+0006+0018 = 0x18371, folded.
    expect(pseudoHeaderSum('192.168.1.1', '192.168.1.2', 6, 24)).toBe(0x8372);
  });
});
