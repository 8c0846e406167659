/**
 * The gateway benchmark's results as text and as a picture, with no I/O: a table with
 * kernel, egressgw and ratio per row, and a hand-written SVG (no chart library is
 * installed) with one panel per figure, each on its own scale, values on the bars and the
 * performance contract's targets drawn as dashed marks.
 */

import { type GatewayBenchResults, gatewayTargets, targetsMet } from './gateway-results.ts';

export function formatGbps(gbps: number): string {
  return gbps.toFixed(2);
}

export function formatKpps(pps: number): string {
  return (pps / 1000).toFixed(1);
}

export function formatUs(us: number): string {
  return us.toFixed(1);
}

function verdict(met: boolean): string {
  return met ? 'met' : 'MISSED';
}

/** The results as an aligned text table, one line per figure, ending in a newline. */
export function gatewayTable(results: GatewayBenchResults): string {
  const met = targetsMet(results);
  const { tcp1, tcp4, udp64, rtt_us: rtt, rtt_us_dense: dense } = results;
  const rows: string[][] = [
    ['', 'kernel', 'egressgw', 'ratio', 'target', ''],
    [
      'TCP 1 stream, Gbit/s',
      formatGbps(tcp1.kernel_gbps),
      formatGbps(tcp1.egressgw_gbps),
      `${tcp1.ratio.toFixed(2)} x`,
      `>= ${gatewayTargets.tcpRatio} x`,
      verdict(met.tcp1),
    ],
    [
      'TCP 4 streams, Gbit/s',
      formatGbps(tcp4.kernel_gbps),
      formatGbps(tcp4.egressgw_gbps),
      `${tcp4.ratio.toFixed(2)} x`,
      `>= ${gatewayTargets.tcpRatio} x`,
      verdict(met.tcp4),
    ],
    [
      'UDP 64 B received, k pps',
      formatKpps(udp64.kernel_pps),
      formatKpps(udp64.egressgw_pps),
      `${udp64.ratio.toFixed(2)} x`,
      `>= ${gatewayTargets.udpRatio} x`,
      verdict(met.udp64),
    ],
    [
      'RTT median, µs',
      formatUs(rtt.kernel_p50),
      formatUs(rtt.egressgw_p50),
      `+${formatUs(rtt.added_p50)} µs`,
      `<= +${gatewayTargets.addedRttP50Us} µs`,
      verdict(met.rtt),
    ],
    ['RTT p99, µs', formatUs(rtt.kernel_p99), formatUs(rtt.egressgw_p99), '', '', ''],
    [
      'RTT median 1 ms apart, µs',
      formatUs(dense.kernel_p50),
      formatUs(dense.egressgw_p50),
      `+${formatUs(dense.added_p50)} µs`,
      '',
      '',
    ],
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  const lines = rows.map((row) =>
    row
      .map((cell, column) =>
        column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!),
      )
      .join('   ')
      .trimEnd(),
  );
  const mode = results.quick ? ', --quick' : '';
  return [
    `egressgw vs kernel path (nftables masquerade), ${results.seconds_per_run} s per run${mode}`,
    ...lines,
    `UDP sent (sender-bound): kernel ${formatKpps(udp64.kernel_sent_pps)} k pps, egressgw ${formatKpps(udp64.egressgw_sent_pps)} k pps; egressgw lost ${udp64.egressgw_lost}: TUN tx_dropped ${udp64.tun_tx_dropped}, receiver's full socket ${udp64.egressgw_receiver_buffer_drops}`,
    `pings: ${rtt.pings} per path 10 ms apart (the target's figure), replies kernel ${rtt.kernel_received}, egressgw ${rtt.egressgw_received}; ${dense.pings} more 1 ms apart, replies kernel ${dense.kernel_received}, egressgw ${dense.egressgw_received}`,
    '',
  ].join('\n');
}

/** Escapes text for SVG character data and attribute values. */
export function escapeXml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');
}

interface Panel {
  id: string;
  title: string;
  /** Under the title: the ratio or the added latency. */
  subtitle: string;
  kernel: number;
  egressgw: number;
  format: (value: number) => string;
  /** Where the contract's mark goes, in the panel's unit, and what it says. */
  target: number;
  targetLabel: string;
}

function panels(results: GatewayBenchResults): Panel[] {
  const { tcp1, tcp4, udp64, rtt_us: rtt } = results;
  const tcpMark = `${gatewayTargets.tcpRatio}× kernel`;
  return [
    {
      id: 'tcp1',
      title: 'TCP, 1 stream (Gbit/s)',
      subtitle: `ratio ${tcp1.ratio.toFixed(2)}×`,
      kernel: tcp1.kernel_gbps,
      egressgw: tcp1.egressgw_gbps,
      format: formatGbps,
      target: gatewayTargets.tcpRatio * tcp1.kernel_gbps,
      targetLabel: tcpMark,
    },
    {
      id: 'tcp4',
      title: 'TCP, 4 streams (Gbit/s)',
      subtitle: `ratio ${tcp4.ratio.toFixed(2)}×`,
      kernel: tcp4.kernel_gbps,
      egressgw: tcp4.egressgw_gbps,
      format: formatGbps,
      target: gatewayTargets.tcpRatio * tcp4.kernel_gbps,
      targetLabel: tcpMark,
    },
    {
      id: 'udp64',
      title: 'UDP 64 B (k packets/s)',
      subtitle: `ratio ${udp64.ratio.toFixed(2)}×, TUN drops ${udp64.tun_tx_dropped}`,
      kernel: udp64.kernel_pps / 1000,
      egressgw: udp64.egressgw_pps / 1000,
      format: (kpps) => kpps.toFixed(1),
      target: (gatewayTargets.udpRatio * udp64.kernel_pps) / 1000,
      targetLabel: `${gatewayTargets.udpRatio}× kernel`,
    },
    {
      id: 'rtt',
      title: 'ping RTT median (µs)',
      subtitle: `added ${rtt.added_p50 >= 0 ? '+' : ''}${formatUs(rtt.added_p50)} µs`,
      kernel: rtt.kernel_p50,
      egressgw: rtt.egressgw_p50,
      format: formatUs,
      target: rtt.kernel_p50 + gatewayTargets.addedRttP50Us,
      targetLabel: `kernel + ${gatewayTargets.addedRttP50Us} µs`,
    },
  ];
}

const PANEL_WIDTH = 210;
const PANEL_GAP = 16;
const MARGIN = 20;
const PLOT_TOP = 110;
const PLOT_HEIGHT = 190;
const BAR_WIDTH = 58;
const COLORS = { kernel: '#8a8f98', egressgw: '#2f6fdf', target: '#d0342c' };

function fixed(value: number): string {
  return value.toFixed(1);
}

function text(
  x: number,
  y: number,
  content: string,
  attributes: Record<string, string> = {},
): string {
  const extra = Object.entries(attributes)
    .map(([name, value]) => ` ${name}="${escapeXml(value)}"`)
    .join('');
  return `<text x="${fixed(x)}" y="${fixed(y)}"${extra}>${escapeXml(content)}</text>`;
}

function panelSvg(panel: Panel, left: number): string {
  // Each panel has its own scale; headroom above the tallest of bars and mark leaves
  // space for the value printed above a bar.
  const top = Math.max(panel.kernel, panel.egressgw, panel.target) * 1.2 || 1;
  const baseline = PLOT_TOP + PLOT_HEIGHT;
  const yOf = (value: number): number => baseline - (Math.max(0, value) / top) * PLOT_HEIGHT;
  const centre = left + PANEL_WIDTH / 2;
  const slots = [
    ['kernel', panel.kernel, left + 36],
    ['egressgw', panel.egressgw, left + PANEL_WIDTH - 36 - BAR_WIDTH],
  ] as const;
  const bars = slots.map(
    ([name, value, x]) =>
      `<rect class="bar ${name}" x="${fixed(x)}" y="${fixed(yOf(value))}" width="${BAR_WIDTH}" height="${fixed(baseline - yOf(value))}" fill="${COLORS[name]}"/>`,
  );
  // The target concerns egressgw, so its mark crosses egressgw's bar only; its words sit
  // under the title, clear of the bars.
  const markY = yOf(panel.target);
  const egressgwX = slots[1][2];
  const labels = slots.map(([name, value, x]) =>
    [
      text(x + BAR_WIDTH / 2, yOf(value) - 5, panel.format(value), {
        'text-anchor': 'middle',
        class: 'value',
      }),
      text(x + BAR_WIDTH / 2, baseline + 16, name, { 'text-anchor': 'middle' }),
    ].join(''),
  );
  return [
    `<g class="panel" id="panel-${panel.id}">`,
    `<rect x="${left}" y="44" width="${PANEL_WIDTH}" height="${baseline + 28 - 44}" fill="none" stroke="#ddd"/>`,
    text(centre, 62, panel.title, { 'text-anchor': 'middle', class: 'title' }),
    text(centre, 78, panel.subtitle, { 'text-anchor': 'middle' }),
    text(centre, 92, `target ${panel.targetLabel} (${panel.format(panel.target)})`, {
      'text-anchor': 'middle',
      class: 'mark',
      fill: COLORS.target,
    }),
    `<line x1="${left + 8}" y1="${baseline}" x2="${left + PANEL_WIDTH - 8}" y2="${baseline}" stroke="#444"/>`,
    ...bars,
    `<line class="target" x1="${fixed(egressgwX - 10)}" y1="${fixed(markY)}" x2="${fixed(egressgwX + BAR_WIDTH + 10)}" y2="${fixed(markY)}" stroke="${COLORS.target}" stroke-width="2" stroke-dasharray="5 3"/>`,
    ...labels,
    '</g>',
  ].join('\n');
}

/** The results as a standalone SVG document: four panels of grouped bars. */
export function gatewaySvg(results: GatewayBenchResults): string {
  const list = panels(results);
  const width = MARGIN * 2 + list.length * PANEL_WIDTH + (list.length - 1) * PANEL_GAP;
  const height = PLOT_TOP + PLOT_HEIGHT + 40;
  const mode = results.quick ? ', --quick' : '';
  const heading = `egressgw vs kernel path (nftables masquerade): ${results.seconds_per_run} s per run${mode}, ${results.date}, node ${results.node}`;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    '<style>.title{font-weight:bold;font-size:12px}.value{font-size:12px}.mark{font-size:10px}</style>',
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    text(MARGIN, 20, heading, { class: 'title' }),
    `<rect x="${MARGIN}" y="28" width="10" height="10" fill="${COLORS.kernel}"/>`,
    text(MARGIN + 14, 37, 'kernel (nftables masquerade)'),
    `<rect x="${MARGIN + 190}" y="28" width="10" height="10" fill="${COLORS.egressgw}"/>`,
    text(MARGIN + 204, 37, 'egressgw'),
    `<line x1="${MARGIN + 280}" y1="33" x2="${MARGIN + 300}" y2="33" stroke="${COLORS.target}" stroke-dasharray="5 3"/>`,
    text(MARGIN + 304, 37, 'performance contract (DESIGN.md)'),
    ...list.map((panel, index) => panelSvg(panel, MARGIN + index * (PANEL_WIDTH + PANEL_GAP))),
    '</svg>',
    '',
  ].join('\n');
}
