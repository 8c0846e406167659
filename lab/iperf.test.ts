import { describe, expect, it } from 'vitest';
import { iperfTcpArgs, iperfUdpArgs, parseIperfTcp, parseIperfUdp } from './iperf.ts';

// Trimmed from real `iperf3 -J` 3.12 reports (loopback in a namespace, 1 s).
const TCP_REPORT = JSON.stringify({
  start: { version: 'iperf 3.12' },
  intervals: [],
  end: {
    sum_sent: {
      start: 0,
      end: 1.000923,
      seconds: 1.000923,
      bytes: 1660682240,
      bits_per_second: 13273206750.169594,
      retransmits: 1,
      sender: true,
    },
    sum_received: {
      start: 0,
      end: 1.003225,
      seconds: 1.003225,
      bytes: 1659371520,
      bits_per_second: 13232297998.953375,
      sender: true,
    },
  },
});
const UDP_REPORT = JSON.stringify({
  start: { version: 'iperf 3.12' },
  end: {
    sum: {
      start: 0,
      end: 1.001702,
      seconds: 1.001702,
      bytes: 5566080,
      bits_per_second: 44502339.1175815,
      jitter_ms: 0.003040589949752492,
      lost_packets: 40876,
      packets: 86970,
      lost_percent: 47.00011498217776,
      sender: true,
    },
  },
});
// What iperf3 -J prints when the server is not there (tabs and all).
const REFUSED_REPORT =
  '{\n\t"start":\t{\n\t\t"connected":\t[]\n\t},\n\t"intervals":\t[],\n\t"end":\t{\n\t},\n\t"error":\t"unable to connect to server: Connection refused"\n}\n';

describe('iperf3 arguments', () => {
  it('builds a TCP client run', () => {
    expect(iperfTcpArgs('203.0.113.10', 5201, { seconds: 2, streams: 4, reverse: true })).toEqual([
      'iperf3',
      '-c',
      '203.0.113.10',
      '-p',
      '5201',
      '-t',
      '2',
      '-P',
      '4',
      '-J',
      '--connect-timeout',
      '3000',
      '-R',
    ]);
  });

  it('builds a UDP run of 64-byte datagrams at full speed by default', () => {
    const argv = iperfUdpArgs('203.0.113.10', 5201);
    expect(argv.slice(-5)).toEqual(['-u', '-l', '64', '-b', '0']);
    expect(argv).toContain('-t');
    expect(argv[argv.indexOf('-t') + 1]).toBe('1');
  });

  it('refuses fractional seconds, which iperf3 3.12 would run forever', () => {
    expect(() => iperfTcpArgs('h', 5201, { seconds: 0.5 })).toThrow(
      expect.objectContaining({ code: 'EGW_LAB_BAD_SPEC' }),
    );
    expect(() => iperfTcpArgs('h', 70_000)).toThrow(
      expect.objectContaining({ code: 'EGW_LAB_BAD_SPEC' }),
    );
    expect(() => iperfUdpArgs('h', 5201, { lengthBytes: 8 })).toThrow(
      expect.objectContaining({ code: 'EGW_LAB_BAD_SPEC' }),
    );
  });
});

describe('iperf3 reports', () => {
  it('reads the TCP sums', () => {
    expect(parseIperfTcp(TCP_REPORT)).toEqual({
      seconds: 1.000923,
      sentBitsPerSecond: 13273206750.169594,
      receivedBitsPerSecond: 13232297998.953375,
      retransmits: 1,
    });
  });

  it('reads UDP packets per second and losses from the receiver sum', () => {
    const result = parseIperfUdp(UDP_REPORT);
    expect(result.sentPackets).toBe(86970);
    expect(result.lostPackets).toBe(40876);
    expect(result.sentPacketsPerSecond).toBeCloseTo(86970 / 1.001702, 6);
    expect(result.receivedPacketsPerSecond).toBeCloseTo((86970 - 40876) / 1.001702, 6);
    expect(result.jitterMs).toBeCloseTo(0.00304, 5);
  });

  it("turns iperf3's own error into EGW_LAB_COMMAND_FAILED with its message", () => {
    expect(() => parseIperfTcp(REFUSED_REPORT)).toThrow(/Connection refused/);
    expect(() => parseIperfUdp(REFUSED_REPORT)).toThrow(
      expect.objectContaining({ code: 'EGW_LAB_COMMAND_FAILED' }),
    );
  });

  it('rejects output that is not a report', () => {
    expect(() => parseIperfTcp('iperf3: error')).toThrow(
      expect.objectContaining({ code: 'EGW_LAB_BAD_OUTPUT' }),
    );
    expect(() => parseIperfTcp('{"end":{}}')).toThrow(/end\.sum_sent/);
    expect(() => parseIperfUdp(TCP_REPORT)).toThrow(/end\.sum/);
    expect(() => parseIperfUdp('{"end":{"sum":{"seconds":1,"packets":"x"}}}')).toThrow(
      /sum\.packets/,
    );
  });
});
