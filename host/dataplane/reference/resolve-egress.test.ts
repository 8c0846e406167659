import { describe, expect, it } from 'vitest';
import { parseIPv4 } from '../../model/cidr.ts';
import type { NatPolicy, NatRule } from '../../model/nat-policy.ts';
import { PolicyTableError } from '../policy-table-errors.ts';
import { resolveEgress } from './resolve-egress.ts';

const egress = ['192.0.2.1', '192.0.2.2', '192.0.2.3'].map((ip) => ({
  ip,
  portMin: 1024,
  portMax: 65535,
}));

function rule(egressIP: string, fields: Partial<NatRule>): NatRule {
  return { sources: ['10.0.0.0/24'], destinations: [], excluded: [], ...fields, egressIP };
}

function resolve(policy: NatPolicy, src: string, dst: string): number {
  return resolveEgress(policy, parseIPv4(src), parseIPv4(dst));
}

describe('resolveEgress', () => {
  it('needs the source, the destination and no exclusion', () => {
    const policy: NatPolicy = {
      egress,
      rules: [rule('192.0.2.2', { destinations: ['0.0.0.0/0'], excluded: ['8.8.8.0/24'] })],
    };
    expect(resolve(policy, '10.0.0.7', '1.1.1.1')).toBe(1);
    expect(resolve(policy, '10.0.1.7', '1.1.1.1')).toBe(-1); // source not selected
    expect(resolve(policy, '10.0.0.7', '8.8.8.8')).toBe(-1); // excluded
  });

  it('takes the longest destination prefix across rules, not the first rule', () => {
    const policy: NatPolicy = {
      egress,
      rules: [
        rule('192.0.2.1', { destinations: ['8.0.0.0/8'] }),
        rule('192.0.2.2', { destinations: ['8.8.0.0/16'] }),
      ],
    };
    expect(resolve(policy, '10.0.0.1', '8.8.4.4')).toBe(1);
    expect(resolve(policy, '10.0.0.1', '8.9.4.4')).toBe(0);
  });

  it('gives ties to the earlier rule', () => {
    const policy: NatPolicy = {
      egress,
      rules: [
        rule('192.0.2.3', { destinations: ['8.8.0.0/16'] }),
        rule('192.0.2.1', { destinations: ['8.8.0.0/16', '9.0.0.0/8'] }),
      ],
    };
    expect(resolve(policy, '10.0.0.1', '8.8.8.8')).toBe(2);
    expect(resolve(policy, '10.0.0.1', '9.9.9.9')).toBe(0);
  });

  it('lets an excluded rule fall back to a shorter prefix of another rule', () => {
    const policy: NatPolicy = {
      egress,
      rules: [
        rule('192.0.2.1', { destinations: ['8.8.8.0/24'], excluded: ['8.8.8.8'] }),
        rule('192.0.2.2', { destinations: ['8.0.0.0/8'] }),
      ],
    };
    expect(resolve(policy, '10.0.0.1', '8.8.8.8')).toBe(1);
    expect(resolve(policy, '10.0.0.1', '8.8.8.9')).toBe(0);
  });

  it('reads a rule through its longest prefix, not its first', () => {
    const policy: NatPolicy = {
      egress,
      rules: [
        rule('192.0.2.1', { destinations: ['8.0.0.0/8', '8.8.8.0/24'] }),
        rule('192.0.2.2', { destinations: ['8.8.0.0/16'] }),
      ],
    };
    expect(resolve(policy, '10.0.0.1', '8.8.8.8')).toBe(0);
    expect(resolve(policy, '10.0.0.1', '8.8.9.9')).toBe(1);
  });

  it('finds the egress by address value', () => {
    const policy: NatPolicy = {
      egress,
      rules: [rule('192.0.2.4', { destinations: ['0.0.0.0/0'] })],
    };
    expect(resolve({ egress, rules: [] }, '10.0.0.1', '8.8.8.8')).toBe(-1);
    expect(() => resolve(policy, '10.0.0.1', '8.8.8.8')).toThrow(PolicyTableError);
    expect(() => resolve(policy, '10.0.0.1', '8.8.8.8')).toThrow(/192\.0\.2\.4/);
  });
});
