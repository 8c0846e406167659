import { describe, expect, it } from 'vitest';
import { tunnelMac } from './tunnel-mac.ts';

describe('tunnelMac', () => {
  it('puts the four address bytes after 0e:77, lower-case hex', () => {
    expect(tunnelMac('192.168.77.11')).toBe('0e:77:c0:a8:4d:0b');
    expect(tunnelMac('10.0.0.1')).toBe('0e:77:0a:00:00:01');
    expect(tunnelMac('0.0.0.0')).toBe('0e:77:00:00:00:00');
    expect(tunnelMac('255.255.255.255')).toBe('0e:77:ff:ff:ff:ff');
  });

  it('is a locally administered unicast address', () => {
    const first = Number.parseInt(tunnelMac('203.0.113.200').slice(0, 2), 16);
    expect(first & 0b10).toBe(0b10); // locally administered
    expect(first & 0b01).toBe(0); // unicast
  });

  it.each(['', '192.168.77', '192.168.77.256', '192.168.077.1', ' 10.0.0.1', '10.0.0.1/32'])(
    'rejects %j with EGW_NET_BAD_ROLE',
    (text) => {
      expect(() => tunnelMac(text)).toThrow(expect.objectContaining({ code: 'EGW_NET_BAD_ROLE' }));
    },
  );
});
