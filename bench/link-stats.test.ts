import { describe, expect, it } from 'vitest';
import { linkDelta, parseLinkStats } from './link-stats.ts';

// Trimmed from `ip -s -j link show egw0` (iproute2 6.1).
const reading = (txPackets: number, txDropped: number) =>
  JSON.stringify([
    {
      ifindex: 7,
      ifname: 'egw0',
      txqlen: 500,
      stats64: {
        rx: { bytes: 1000, packets: 10, errors: 0, dropped: 1, over_errors: 0, multicast: 0 },
        tx: { bytes: txPackets * 92, packets: txPackets, errors: 0, dropped: txDropped },
      },
    },
  ]);

describe('parseLinkStats', () => {
  it('reads the stats64 counters and txqlen', () => {
    expect(parseLinkStats(reading(20, 3))).toEqual({
      rx_packets: 10,
      rx_bytes: 1000,
      rx_dropped: 1,
      tx_packets: 20,
      tx_bytes: 1840,
      tx_dropped: 3,
      txqlen: 500,
    });
  });

  it('refuses output that is not one interface with stats', () => {
    expect(() => parseLinkStats('Device "egw0" does not exist.')).toThrow(/not JSON/);
    expect(() => parseLinkStats('[]')).toThrow(/exactly one/);
    expect(() => parseLinkStats('[{"ifname":"egw0","txqlen":500}]')).toThrow(/rx\.packets/);
  });

  it('takes differences', () => {
    const delta = linkDelta(parseLinkStats(reading(20, 3)), parseLinkStats(reading(120, 53)));
    expect(delta).toMatchObject({ tx_packets: 100, tx_bytes: 9200, tx_dropped: 50, rx_packets: 0 });
  });
});
