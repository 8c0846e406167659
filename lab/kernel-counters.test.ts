import { describe, expect, it } from 'vitest';
import { parseKernelCounters } from './kernel-counters.ts';

// Shape of /proc/net/snmp followed by /proc/net/netstat (columns trimmed).
const SNMP_AND_NETSTAT = `Ip: Forwarding DefaultTTL InReceives
Ip: 1 64 28549
Tcp: RtoAlgorithm ActiveOpens InCsumErrors
Tcp: 1 12 3
Udp: InDatagrams NoPorts InCsumErrors
Udp: 100 2 5
TcpExt: SyncookiesSent TCPTimeouts
TcpExt: 0 7
IpExt: InNoRoutes InOctets
IpExt: 0 123456789012
`;

describe('kernel counters', () => {
  it('names counters as nstat does', () => {
    const counters = parseKernelCounters(SNMP_AND_NETSTAT);
    expect(counters).toMatchObject({
      IpForwarding: 1,
      TcpInCsumErrors: 3,
      UdpInCsumErrors: 5,
      UdpNoPorts: 2,
      TcpExtTCPTimeouts: 7,
      IpExtInOctets: 123456789012,
    });
    expect(Object.keys(counters)).toHaveLength(13);
  });

  it('rejects mismatched header and value lines', () => {
    expect(() => parseKernelCounters('Tcp: A B\nTcp: 1\n')).toThrow(
      expect.objectContaining({ code: 'EGW_LAB_BAD_OUTPUT' }),
    );
    expect(() => parseKernelCounters('Tcp: A\nUdp: 1\n')).toThrow(/unexpected counter lines/);
  });
});
