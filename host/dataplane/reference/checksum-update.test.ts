import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  internetChecksum,
  onesComplementSum,
  pseudoHeaderSum,
} from '../../../test/support/packets/index.ts';
import { readU16, writeU16 } from './bytes.ts';
import {
  addressChange,
  updateChecksum,
  updatePartialSum,
  updateUdpChecksum,
} from './checksum-update.ts';

describe('updateChecksum (RFC 1624 eqn. 3)', () => {
  it('equals a full recomputation after any word edits', () => {
    fc.assert(
      fc.property(
        fc
          .uint8Array({ minLength: 4, maxLength: 64 })
          .map((bytes) => bytes.subarray(0, bytes.length & ~1)),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 0xffff })), {
          minLength: 1,
          maxLength: 6,
        }),
        (original, edits) => {
          fc.pre(original.length >= 4);
          const bytes = original.slice();
          writeU16(bytes, 0, 0);
          writeU16(bytes, 0, internetChecksum(bytes));
          let checksum = readU16(bytes, 0);
          for (const [where, value] of edits) {
            const offset = 2 + 2 * (where % ((bytes.length - 2) / 2));
            checksum = updateChecksum(checksum, [[readU16(bytes, offset), value]]);
            writeU16(bytes, offset, value);
          }
          // Eqn. 3 gives 0x0000 only when every data word is zero, where 0x0000 and
          // 0xffff are the same one's-complement zero (RFC 1624 section 3); no IPv4, TCP,
          // UDP or ICMP header is all zeros (version, ports, type), so that case is out.
          fc.pre(bytes.subarray(2).some((byte) => byte !== 0));
          writeU16(bytes, 0, checksum);
          expect(onesComplementSum(bytes)).toBe(0xffff);
        },
      ),
    );
  });

  it('gives the same bytes applied word by word or all at once', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffff }),
        fc.array(
          fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff })),
          {
            maxLength: 6,
          },
        ),
        (checksum, changes) => {
          const stepwise = changes.reduce((sum, change) => updateChecksum(sum, [change]), checksum);
          expect(changes.length === 0 ? checksum : updateChecksum(checksum, changes)).toBe(
            stepwise,
          );
        },
      ),
    );
  });

  it('applies the formula even to an unchanged word: 0xffff becomes 0x0000', () => {
    expect(updateChecksum(0xffff, [[0x1234, 0x1234]])).toBe(0x0000);
    expect(updateChecksum(0xabcd, [[0x1234, 0x1234]])).toBe(0xabcd);
  });

  it('splits an address into its two words', () => {
    expect(addressChange(0x0a000001, 0xcb007101)).toEqual([
      [0x0a00, 0xcb00],
      [0x0001, 0x7101],
    ]);
  });
});

describe('updateUdpChecksum', () => {
  it('keeps zero (no checksum) and sends a computed zero as 0xffff', () => {
    expect(updateUdpChecksum(0, [[1, 2]])).toBe(0);
    // ~(~0x0001 + ~0x0000 + 0x0001) = ~(0xfffe + 0xffff + 1) = ~0xffff = 0 -> 0xffff.
    expect(updateUdpChecksum(0x0001, [[0x0000, 0x0001]])).toBe(0xffff);
  });
});

describe('updatePartialSum (CHECKSUM_PARTIAL)', () => {
  it('moves the pseudo-header sum from the old addresses to the new ones', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 0xffffffff }),
        fc.nat({ max: 0xffffffff }),
        fc.nat({ max: 0xffffffff }),
        fc.integer({ min: 20, max: 65000 }),
        (src, dst, newSrc, length) => {
          const ip = (value: number) =>
            [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
          const before = pseudoHeaderSum(ip(src), ip(dst), 6, length);
          const after = pseudoHeaderSum(ip(newSrc), ip(dst), 6, length);
          const updated = updatePartialSum(before, addressChange(src, newSrc));
          // Equal as one's-complement values (0 and 0xffff are one number).
          expect(updated % 0xffff).toBe(after % 0xffff);
        },
      ),
    );
  });
});
