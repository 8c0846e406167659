/**
 * One interface's counters from `ip -s -j link show DEV` (iproute2's stats64), and the
 * difference between two readings. The benchmark reads the TUN's tx_dropped (DESIGN.md:
 * its transmit queue drops under UDP floods) and checks that measured traffic really
 * crossed the gateway's uplink.
 */

export interface LinkStats {
  rx_packets: number;
  rx_bytes: number;
  rx_dropped: number;
  tx_packets: number;
  tx_bytes: number;
  tx_dropped: number;
  /** The transmit queue length (txqlen), for reading tx_dropped. */
  txqlen: number;
}

function count(object: unknown, key: string, where: string): number {
  const value =
    typeof object === 'object' && object !== null
      ? (object as Record<string, unknown>)[key]
      : undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new RangeError(`ip -s -j link has no number ${where}.${key}`);
  }
  return value;
}

export function parseLinkStats(jsonText: string): LinkStats {
  let parsed: unknown;
  try {
    parsed = JSON.parse(jsonText);
  } catch (error) {
    throw new RangeError(`ip -s -j link output is not JSON: ${jsonText.slice(0, 120)}`, {
      cause: error,
    });
  }
  const link = Array.isArray(parsed) && parsed.length === 1 ? (parsed[0] as unknown) : undefined;
  if (typeof link !== 'object' || link === null) {
    throw new RangeError('ip -s -j link did not describe exactly one interface');
  }
  const stats = (link as Record<string, unknown>)['stats64'];
  const rx =
    typeof stats === 'object' && stats !== null ? (stats as { rx?: unknown }).rx : undefined;
  const tx =
    typeof stats === 'object' && stats !== null ? (stats as { tx?: unknown }).tx : undefined;
  return {
    rx_packets: count(rx, 'packets', 'rx'),
    rx_bytes: count(rx, 'bytes', 'rx'),
    rx_dropped: count(rx, 'dropped', 'rx'),
    tx_packets: count(tx, 'packets', 'tx'),
    tx_bytes: count(tx, 'bytes', 'tx'),
    tx_dropped: count(tx, 'dropped', 'tx'),
    txqlen: count(link, 'txqlen', 'link'),
  };
}

/** after - before, counter by counter (txqlen is taken from after). */
export function linkDelta(before: LinkStats, after: LinkStats): LinkStats {
  return {
    rx_packets: after.rx_packets - before.rx_packets,
    rx_bytes: after.rx_bytes - before.rx_bytes,
    rx_dropped: after.rx_dropped - before.rx_dropped,
    tx_packets: after.tx_packets - before.tx_packets,
    tx_bytes: after.tx_bytes - before.tx_bytes,
    tx_dropped: after.tx_dropped - before.tx_dropped,
    txqlen: after.txqlen,
  };
}
