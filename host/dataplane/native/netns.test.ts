import { readlinkSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NativeArgumentError } from './errors.ts';
import { interfaceIndex } from './ffi.ts';
import { withNetworkNamespace } from './netns.ts';
import { isRoot, TestNamespaces } from './test-namespaces.ts';

const currentNamespace = () => readlinkSync('/proc/thread-self/ns/net');

describe.skipIf(!isRoot)('withNetworkNamespace', () => {
  const namespaces = new TestNamespaces('ns');
  let ns = '';

  beforeAll(() => {
    try {
      ns = namespaces.add('a');
      namespaces.ip(ns, 'link', 'add', 'egwveth0', 'type', 'veth', 'peer', 'name', 'egwveth1');
    } catch (err) {
      namespaces.removeAll();
      throw err;
    }
  });

  afterAll(() => namespaces.removeAll());

  it('runs inside the namespace and comes back', () => {
    const outside = currentNamespace();
    const inside = withNetworkNamespace(ns, () => ({
      id: currentNamespace(),
      veth: interfaceIndex('egwveth0'),
    }));
    expect(inside.id).not.toBe(outside);
    expect(inside.veth).toBeGreaterThan(1);
    expect(currentNamespace()).toBe(outside);
    expect(() => interfaceIndex('egwveth0')).toThrow(
      expect.objectContaining({ errnoName: 'ENODEV' }),
    );
  });

  it('comes back when the function throws', () => {
    const outside = currentNamespace();
    expect(() =>
      withNetworkNamespace(ns, () => {
        throw new Error('inside');
      }),
    ).toThrow('inside');
    expect(currentNamespace()).toBe(outside);
  });

  it('refuses an asynchronous function, a bad name and a missing namespace', () => {
    const outside = currentNamespace();
    expect(() => withNetworkNamespace(ns, async () => 1)).toThrow(NativeArgumentError);
    expect(currentNamespace()).toBe(outside);
    expect(() => withNetworkNamespace('../etc', () => 1)).toThrow(NativeArgumentError);
    expect(() => withNetworkNamespace(`${namespaces.prefix}-missing`, () => 1)).toThrow(
      expect.objectContaining({ code: 'EGW_ERRNO', errnoName: 'ENOENT' }),
    );
  });
});
