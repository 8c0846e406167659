import { describe, expect, it } from 'vitest';
import { parsePing, pingArgs } from './ping.ts';

// Real iputils 20221126 output.
const REPLIES = `PING 203.0.113.10 (203.0.113.10) 56(84) bytes of data.
64 bytes from 203.0.113.10: icmp_seq=1 ttl=62 time=0.235 ms
64 bytes from 203.0.113.10: icmp_seq=2 ttl=62 time=0.046 ms
64 bytes from 203.0.113.10: icmp_seq=2 ttl=62 time=0.050 ms (DUP!)
64 bytes from 203.0.113.10: icmp_seq=3 ttl=62 time=0.043 ms

--- 203.0.113.10 ping statistics ---
3 packets transmitted, 3 received, +1 duplicates, 0% packet loss, time 33ms
rtt min/avg/max/mdev = 0.043/0.108/0.235/0.089 ms
`;
const FRAG_NEEDED = `PING 203.0.113.10 (203.0.113.10) 1450(1478) bytes of data.
From 172.18.18.1 icmp_seq=1 Frag needed and DF set (mtu = 1400)

--- 203.0.113.10 ping statistics ---
1 packets transmitted, 0 received, +1 errors, 100% packet loss, time 0ms
`;
// The second try from the same namespace: the kernel now knows the path MTU and refuses
// locally, on stderr.
const LOCAL_TOO_LONG_STDOUT = `PING 203.0.113.10 (203.0.113.10) 1450(1478) bytes of data.

--- 203.0.113.10 ping statistics ---
1 packets transmitted, 0 received, +1 errors, 100% packet loss, time 0ms
`;
const LOCAL_TOO_LONG_STDERR = 'ping: local error: message too long, mtu=1400\n';

describe('ping', () => {
  it('builds arguments with a sub-second interval and DF', () => {
    expect(
      pingArgs('203.0.113.10', {
        count: 3,
        intervalMs: 10,
        payloadBytes: 1372,
        dontFragment: true,
      }),
    ).toEqual([
      'ping',
      '-n',
      '-c',
      '3',
      '-i',
      '0.01',
      '-W',
      '1',
      '-s',
      '1372',
      '-M',
      'do',
      '203.0.113.10',
    ]);
    expect(() => pingArgs('x', { count: 0 })).toThrow(
      expect.objectContaining({ code: 'EGW_LAB_BAD_SPEC' }),
    );
  });

  it('reads round-trip times, ignoring duplicates', () => {
    const result = parsePing(REPLIES, '');
    expect(result).toMatchObject({ transmitted: 3, received: 3, rttsMs: [0.235, 0.046, 0.043] });
    expect(result).toMatchObject({ minMs: 0.043, medianMs: 0.046, maxMs: 0.235, errors: [] });
    expect(result.fragmentationNeededMtu).toBeUndefined();
  });

  it('reads the MTU of a fragmentation-needed error and of a local one', () => {
    const remote = parsePing(FRAG_NEEDED, '');
    expect(remote).toMatchObject({
      transmitted: 1,
      received: 0,
      fragmentationNeededMtu: 1400,
      rttsMs: [],
    });
    expect(remote.errors).toEqual([
      'From 172.18.18.1 icmp_seq=1 Frag needed and DF set (mtu = 1400)',
    ]);
    const local = parsePing(LOCAL_TOO_LONG_STDOUT, LOCAL_TOO_LONG_STDERR);
    expect(local).toMatchObject({ transmitted: 1, received: 0, fragmentationNeededMtu: 1400 });
  });

  it('reports an unreachable network as zero transmitted, and junk as bad output', () => {
    const result = parsePing('', 'ping: connect: Network is unreachable\n');
    expect(result).toMatchObject({
      transmitted: 0,
      received: 0,
      errors: ['ping: connect: Network is unreachable'],
    });
    expect(() => parsePing('hello', '')).toThrow(
      expect.objectContaining({ code: 'EGW_LAB_BAD_OUTPUT' }),
    );
  });
});
