import { describe, expect, it } from 'vitest';
import { PolicyTableError } from './policy-table-errors.ts';
import { SlotAllocator } from './policy-table-slots.ts';

function codeOf(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    if (error instanceof PolicyTableError) return error.code;
    throw error;
  }
  return undefined;
}

describe('SlotAllocator', () => {
  it('keeps an address on its slot while it stays', () => {
    const slots = new SlotAllocator(4);
    expect([...slots.assign(['192.0.2.1', '192.0.2.2'])]).toEqual([
      ['192.0.2.1', 0],
      ['192.0.2.2', 1],
    ]);
    const next = slots.assign(['192.0.2.3', '192.0.2.2', '192.0.2.1']);
    expect(next.get('192.0.2.1')).toBe(0);
    expect(next.get('192.0.2.2')).toBe(1);
    expect(next.get('192.0.2.3')).toBe(2);
    expect(slots.slotOf('192.0.2.3')).toBe(2);
  });

  it('does not hand a slot just freed to a new address while another is free', () => {
    const slots = new SlotAllocator(3);
    slots.assign(['192.0.2.1', '192.0.2.2']); // slots 0, 1
    const next = slots.assign(['192.0.2.2', '192.0.2.9']); // .1 leaves slot 0
    expect(next.get('192.0.2.9')).toBe(2);
    // Now slot 0 was last used two tables ago, slot 2 is taken: 0 is the only choice.
    const third = slots.assign(['192.0.2.2', '192.0.2.9', '192.0.2.10']);
    expect(third.get('192.0.2.10')).toBe(0);
  });

  it('takes the slot freed longest ago', () => {
    const slots = new SlotAllocator(3);
    slots.assign(['192.0.2.1', '192.0.2.2', '192.0.2.3']);
    slots.assign(['192.0.2.2', '192.0.2.3']); // frees 0
    slots.assign(['192.0.2.3']); // frees 1; slot 0 is older
    expect(slots.assign(['192.0.2.3', '192.0.2.4']).get('192.0.2.4')).toBe(0);
    // Slot 1 was freed before slot 0 was reused, so it is the oldest free one now.
    expect(slots.assign(['192.0.2.5']).get('192.0.2.5')).toBe(1);
  });

  it('reuses a freed slot at once when it is the only one left', () => {
    const slots = new SlotAllocator(2);
    slots.assign(['192.0.2.1', '192.0.2.2']);
    expect(slots.assign(['192.0.2.2', '192.0.2.3']).get('192.0.2.3')).toBe(0);
  });

  it('forgets an address that left: it comes back on a fresh slot', () => {
    const slots = new SlotAllocator(4);
    slots.assign(['192.0.2.1']);
    slots.assign([]);
    expect(slots.slotOf('192.0.2.1')).toBeUndefined();
    expect(slots.assign(['192.0.2.1']).get('192.0.2.1')).toBe(1);
  });

  it('counts a repeated address once', () => {
    const slots = new SlotAllocator(1);
    expect([...slots.assign(['192.0.2.1', '192.0.2.1'])]).toEqual([['192.0.2.1', 0]]);
  });

  it('rejects too many addresses and bad text without changing its state', () => {
    const slots = new SlotAllocator(2);
    slots.assign(['192.0.2.1']);
    expect(codeOf(() => slots.assign(['192.0.2.1', '192.0.2.2', '192.0.2.3']))).toBe(
      'EGW_TOO_MANY_EGRESS',
    );
    expect(codeOf(() => slots.assign(['192.0.2.2', '192.0.2.01']))).toBe('EGW_BAD_IP');
    expect(slots.slotOf('192.0.2.1')).toBe(0);
    expect(slots.slotOf('192.0.2.2')).toBeUndefined();
    expect(slots.assign(['192.0.2.1', '192.0.2.2']).get('192.0.2.2')).toBe(1);
  });

  it('rejects a capacity that is not a positive integer', () => {
    expect(codeOf(() => new SlotAllocator(0))).toBe('EGW_BAD_SLOT');
    expect(codeOf(() => new SlotAllocator(1.5))).toBe('EGW_BAD_SLOT');
  });
});
