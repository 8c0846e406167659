import { describe, expect, it } from 'vitest';
import {
  checkInterfaceName,
  LAB_NAMESPACE_PATTERN,
  namespaceName,
  newLabPrefix,
  parseLabNamespace,
} from './names.ts';

describe('lab names', () => {
  it('makes prefixes with the owner pid and a random tag', () => {
    const prefix = newLabPrefix(4242);
    expect(prefix).toMatch(/^egwlab-4242-[0-9a-z]{4}$/);
    expect(newLabPrefix()).toContain(`-${process.pid}-`);
    const tags = new Set(Array.from({ length: 50 }, () => newLabPrefix(1)));
    expect(tags.size).toBeGreaterThan(45);
  });

  it('parses the owner back out of namespace names, and nothing else', () => {
    const name = namespaceName('egwlab-4242-ab12', 'worker1-pod2');
    expect(name).toBe('egwlab-4242-ab12-worker1-pod2');
    expect(parseLabNamespace(name)).toEqual({ prefix: 'egwlab-4242-ab12', ownerPid: 4242 });
    for (const other of [
      'egwlab-ab12-gw1',
      'egwlab-4242-ab12',
      'xegwlab-1-ab12-gw1',
      'cni-1234',
      'egwlab-0-ab12-gw1',
    ]) {
      expect(parseLabNamespace(other), other).toBeUndefined();
      expect(LAB_NAMESPACE_PATTERN.test(other), other).toBe(false);
    }
  });

  it('keeps interface names within 15 bytes', () => {
    expect(() => checkInterfaceName('worker2-eth0')).not.toThrow();
    expect(() => checkInterfaceName('a23456789012345')).not.toThrow();
    expect(() => checkInterfaceName('a234567890123456')).toThrow(
      expect.objectContaining({ code: 'EGW_LAB_BAD_SPEC' }),
    );
    expect(() => checkInterfaceName('eth 0')).toThrow();
    expect(() => namespaceName('egwlab-1-abcd', 'Bad Role')).toThrow();
  });
});
