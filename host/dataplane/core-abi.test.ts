import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as abi from './core-abi.ts';
import { counterNames } from './counters.ts';
import { Verdict, verdictNames } from './nat-engine.ts';

// The host and the core describe the same memory in two languages; these tests read the
// core's sources and hold the host's constants to them, so neither side can drift.

function constants(file: string): Map<string, number> {
  const text = readFileSync(new URL(`../../assembly/${file}`, import.meta.url), 'utf8');
  const found = new Map<string, number>();
  for (const match of text.matchAll(/export const (\w+): \w+ = (0x[0-9a-f]+|\d+);/gi)) {
    found.set(match[1]!, Number(match[2]!));
  }
  return found;
}

describe('the host and the core agree', () => {
  it('on every control block offset and size the host uses', () => {
    const core = new Map([...constants('control.ts'), ...constants('layout.ts')]);
    const shared = Object.entries(abi).filter(([name]) => core.has(name));
    expect(shared.length).toBeGreaterThanOrEqual(30);
    for (const [name, value] of shared) expect([name, value]).toEqual([name, core.get(name)]);
  });

  it('on the counters, in order', () => {
    const core = [...constants('counters.ts')].filter(
      ([name]) => name.startsWith('C_') && name !== 'C_DROP_BASE',
    );
    const byIndex = new Map(core.map(([name, index]) => [index, name]));
    const dropBase = constants('counters.ts').get('C_DROP_BASE')!;
    expect(constants('counters.ts').get('COUNTER_COUNT')).toBe(counterNames.length);
    counterNames.forEach((name, index) => {
      if (index >= dropBase && index < dropBase + 7) {
        // The drop counters are addressed by verdict.
        const verdict = index - dropBase + 1;
        expect(name).toBe(
          verdict === Verdict.held
            ? 'fragments_held'
            : verdict === Verdict.fragmentDropped
              ? 'drop_fragment'
              : `drop_${verdictNames[verdict as Verdict]}`,
        );
      } else {
        expect(byIndex.get(index)).toBe(`C_${name.toUpperCase()}`);
      }
    });
  });

  it('on the verdict codes', () => {
    const core = constants('verdict.ts');
    for (const [code, name] of Object.entries(verdictNames)) {
      expect(core.get(`V_${name.toUpperCase()}`)).toBe(Number(code));
    }
  });
});
