import { describe, expect, it } from 'vitest';
import { TunnelSlots } from './tunnel-slots.ts';

describe('TunnelSlots', () => {
  it('keeps a group’s slot when others come and go', () => {
    const slots = new TunnelSlots(127);
    expect([...slots.assign(['b', 'c'])]).toEqual([
      ['b', 1],
      ['c', 2],
    ]);
    expect(slots.assign(['a', 'c']).get('c')).toBe(2);
    expect(slots.assign(['a', 'c']).get('a')).toBe(1);
    expect(slots.assign(['a', 'c', 'd']).get('d')).toBe(3);
  });

  it('refuses more groups than the mark field holds', () => {
    const slots = new TunnelSlots(2);
    slots.assign(['a', 'b']);
    expect(() => slots.assign(['a', 'b', 'c'])).toThrow(/3 groups need slots/);
    expect(slots.assign(['c']).get('c')).toBe(1);
  });
});
