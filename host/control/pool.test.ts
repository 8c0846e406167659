import { describe, expect, it } from 'vitest';
import type { ExternalIPPool } from '../api/antrea.ts';
import { formatIPv4, parseIPv4 } from '../model/cidr.ts';
import { firstFree, poolHas, poolView } from './pool.ts';

function pool(ipRanges: ExternalIPPool['spec']['ipRanges']): ExternalIPPool {
  return {
    apiVersion: 'crd.antrea.io/v1beta1',
    kind: 'ExternalIPPool',
    metadata: { name: 'p' },
    spec: { ipRanges },
  };
}

describe('pool view', () => {
  it('counts usable addresses over all ranges (the seed’s prod pool: 9 + 14)', () => {
    const view = poolView(
      pool([{ start: '10.10.0.2', end: '10.10.0.10' }, { cidr: '10.10.1.0/28' }]),
    );
    expect(view.total).toBe(23);
    expect(poolHas(view, parseIPv4('10.10.0.8'))).toBe(true);
    expect(poolHas(view, parseIPv4('10.10.1.0'))).toBe(false);
    expect(poolHas(view, parseIPv4('10.10.0.11'))).toBe(false);
  });

  it('firstFree skips taken addresses and moves on to the next range', () => {
    const view = poolView(
      pool([{ start: '10.10.0.2', end: '10.10.0.3' }, { cidr: '10.10.1.0/30' }]),
    );
    const taken = new Set(['10.10.0.2', '10.10.0.3', '10.10.1.1'].map(parseIPv4));
    expect(formatIPv4(firstFree(view, taken)!)).toBe('10.10.1.2');
    taken.add(parseIPv4('10.10.1.2'));
    expect(firstFree(view, taken)).toBeNull();
  });

  it('a huge pool costs no more than the taken addresses', () => {
    const view = poolView(pool([{ cidr: '10.0.0.0/8' }]));
    expect(view.total).toBe(2 ** 24 - 2);
    let steps = 0;
    const taken = {
      has: (address: number) => {
        steps++;
        return address < parseIPv4('10.0.0.4');
      },
    };
    expect(formatIPv4(firstFree(view, taken)!)).toBe('10.0.0.4');
    expect(steps).toBe(4);
  });
});
