import { describe, expect, it } from 'vitest';
import { escapeXml, gatewaySvg, gatewayTable } from './gateway-report.ts';
import {
  type GatewayBenchResults,
  gatewayTargets,
  percentile,
  ratio,
  rttRow,
  rttSpreadUs,
  targetsMet,
  throughputRow,
} from './gateway-results.ts';

// A fixed result: TCP 1 stream meets its target, TCP 4 misses it, UDP misses, RTT meets.
const fixture: GatewayBenchResults = {
  tcp1: throughputRow(
    { bitsPerSecond: 20e9, retransmits: 0 },
    { bitsPerSecond: 13e9, retransmits: 2 },
  ),
  tcp4: throughputRow(
    { bitsPerSecond: 24e9, retransmits: 0 },
    { bitsPerSecond: 12e9, retransmits: 9 },
  ),
  udp64: {
    kernel_pps: 140_000,
    egressgw_pps: 56_000,
    ratio: 0.4,
    kernel_sent_pps: 141_000,
    egressgw_sent_pps: 120_000,
    tun_tx_dropped: 4321,
    egressgw_lost: 5000,
    egressgw_receiver_buffer_drops: 679,
  },
  rtt_us: rttRow([0.011, 0.012, 0.013, 0.02], [0.035, 0.036, 0.04, 0.09], 4),
  rtt_us_dense: rttRow([0.008, 0.009, 0.01], [0.02, 0.021, 0.03], 3),
  quick: true,
  date: '2026-11-22T05:00:00.000Z',
  node: 'v24.21.0',
  seconds_per_run: 2,
  order: 'kernel then egressgw',
  targets: gatewayTargets,
  detail: {},
};

/** Tag names in document order, checking that every opened tag is closed in order. */
function checkBalanced(svg: string): string[] {
  const stack: string[] = [];
  const opened: string[] = [];
  const body = svg.replace(/^<\?xml[^>]*\?>/, '');
  for (const match of body.matchAll(/<(\/?)([a-zA-Z][\w-]*)([^>]*?)(\/?)>/g)) {
    const [, closing, name, , selfClosing] = match;
    if (closing === '/') {
      const open = stack.pop();
      if (open !== name) throw new Error(`</${name}> closes <${open}>`);
    } else {
      opened.push(name!);
      if (selfClosing !== '/') stack.push(name!);
    }
  }
  if (stack.length > 0) throw new Error(`unclosed: ${stack.join(', ')}`);
  // Nothing that looks like markup is left outside tags.
  const outside = body.replace(/<[^>]*>/g, '');
  expect(outside).not.toMatch(/[<>]/);
  return opened;
}

describe('results', () => {
  it('takes nearest-rank percentiles', () => {
    expect(percentile([], 50)).toBeUndefined();
    expect(percentile([5], 99)).toBe(5);
    expect(percentile([4, 1, 3, 2], 50)).toBe(2);
    const hundred = Array.from({ length: 200 }, (_, i) => i + 1);
    expect(percentile(hundred, 99)).toBe(198);
    expect(percentile(hundred, 100)).toBe(200);
  });

  it('computes ratios, added latency and which targets are met', () => {
    expect(ratio(3, 0)).toBe(0);
    expect(fixture.tcp1.ratio).toBeCloseTo(0.65);
    expect(fixture.tcp1.kernel_gbps).toBe(20);
    expect(fixture.rtt_us).toMatchObject({
      kernel_p50: 12,
      egressgw_p50: 36,
      added_p50: 24,
      kernel_p99: 20,
      egressgw_p99: 90,
      kernel_received: 4,
    });
    expect(targetsMet(fixture)).toEqual({ tcp1: true, tcp4: false, udp64: false, rtt: true });
  });

  it('spreads round trips in microseconds', () => {
    expect(rttSpreadUs([0.05, 0.011, 2.5, 0.02])).toEqual({
      min: 11,
      p90: 2500,
      max: 2500,
      over_1ms: 1,
    });
  });

  it('refuses an RTT row without replies', () => {
    expect(() => rttRow([], [0.03], 5)).toThrow(RangeError);
  });
});

describe('table', () => {
  const table = gatewayTable(fixture);
  const lines = table.split('\n');

  it('has one row per figure with kernel, egressgw, ratio and the verdict', () => {
    expect(lines[0]).toBe('egressgw vs kernel path (nftables masquerade), 2 s per run, --quick');
    const row = (label: string): string[] =>
      lines
        .find((line) => line.startsWith(label))!
        .slice(label.length)
        .trim()
        .split(/\s{3,}/);
    expect(row('TCP 1 stream, Gbit/s')).toEqual(['20.00', '13.00', '0.65 x', '>= 0.6 x', 'met']);
    expect(row('TCP 4 streams, Gbit/s')).toEqual([
      '24.00',
      '12.00',
      '0.50 x',
      '>= 0.6 x',
      'MISSED',
    ]);
    expect(row('UDP 64 B received, k pps')).toEqual([
      '140.0',
      '56.0',
      '0.40 x',
      '>= 0.5 x',
      'MISSED',
    ]);
    expect(row('RTT median, µs')).toEqual(['12.0', '36.0', '+24.0 µs', '<= +40 µs', 'met']);
    expect(row('RTT p99, µs')).toEqual(['20.0', '90.0']);
    expect(row('RTT median 1 ms apart, µs')).toEqual(['9.0', '21.0', '+12.0 µs']);
    expect(table).toContain('3 more 1 ms apart, replies kernel 3, egressgw 3');
    expect(table).toContain("egressgw lost 5000: TUN tx_dropped 4321, receiver's full socket 679");
    expect(table).toContain('kernel 141.0 k pps, egressgw 120.0 k pps');
  });

  it('right-aligns the kernel and egressgw columns under their headings', () => {
    const header = lines[1]!;
    const data = lines.slice(2, 8);
    for (const heading of ['kernel', 'egressgw']) {
      const end = header.indexOf(heading) + heading.length;
      for (const line of data) {
        expect(line[end - 1]).toMatch(/\d/);
        expect(line[end] ?? ' ').toBe(' ');
      }
    }
  });
});

describe('svg', () => {
  const svg = gatewaySvg(fixture);

  it('is balanced markup with an svg root', () => {
    const tags = checkBalanced(svg);
    expect(tags[0]).toBe('svg');
    expect(svg).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<svg xmlns=/);
  });

  it('has the four panels, each with two bars, its values and a target mark', () => {
    const panels = [...svg.matchAll(/<g class="panel" id="panel-(\w+)">([\s\S]*?)<\/g>/g)];
    expect(panels.map((match) => match[1])).toEqual(['tcp1', 'tcp4', 'udp64', 'rtt']);
    const values = panels.map((match) =>
      [...match[2]!.matchAll(/class="value">([^<]*)</g)].map((value) => value[1]),
    );
    expect(values).toEqual([
      ['20.00', '13.00'],
      ['24.00', '12.00'],
      ['140.0', '56.0'],
      ['12.0', '36.0'],
    ]);
    for (const [, , body] of panels) {
      expect(body!.match(/<rect class="bar /g)).toHaveLength(2);
      expect(body!.match(/<line class="target"/g)).toHaveLength(1);
      // The mark crosses egressgw's bar and stays clear of the kernel bar.
      const kernel = body!.match(/<rect class="bar kernel" x="([\d.]+)" [^>]*width="(\d+)"/)!;
      const egressgw = body!.match(/<rect class="bar egressgw" x="([\d.]+)"/)!;
      const mark = body!.match(/<line class="target" x1="([\d.]+)"[^>]*x2="([\d.]+)"/)!;
      expect(Number(mark[1])).toBeGreaterThan(Number(kernel[1]) + Number(kernel[2]));
      expect(Number(mark[1])).toBeLessThan(Number(egressgw[1]));
      expect(Number(mark[2])).toBeGreaterThan(Number(egressgw[1]) + 58);
    }
    expect(svg).toContain('target 0.6× kernel (12.00)');
    expect(svg).toContain('target 0.6× kernel (14.40)');
    expect(svg).toContain('target 0.5× kernel (70.0)');
    expect(svg).toContain('target kernel + 40 µs (52.0)');
    expect(svg).toContain('TUN drops 4321');
    expect(svg).toContain('added +24.0 µs');
  });

  it('draws each panel on its own scale with the mark where the target is', () => {
    // TCP 1: kernel 20 is the tallest value, so the top of the scale is 24 and the mark
    // at 0.6 x 20 = 12 sits at half the plot height above the baseline (110 + 190).
    const tcp1 = svg.match(/<g class="panel" id="panel-tcp1">[\s\S]*?<\/g>/)![0];
    const kernelBar = tcp1.match(/<rect class="bar kernel"[^>]*height="([\d.]+)"/)!;
    expect(Number(kernelBar[1])).toBeCloseTo(190 / 1.2, 0);
    const mark = tcp1.match(/<line class="target"[^>]*y1="([\d.]+)"/)!;
    expect(Number(mark[1])).toBeCloseTo(300 - 190 * (12 / 24), 0);
    // RTT: the mark is at kernel + 40 = 52 us, above both bars.
    const rtt = svg.match(/<g class="panel" id="panel-rtt">[\s\S]*?<\/g>/)![0];
    const rttMark = Number(rtt.match(/<line class="target"[^>]*y1="([\d.]+)"/)![1]);
    expect(rttMark).toBeCloseTo(300 - 190 / 1.2, 0);
  });

  it('escapes text', () => {
    expect(escapeXml('a<b & "c">')).toBe('a&lt;b &amp; &quot;c&quot;&gt;');
    expect(gatewaySvg({ ...fixture, node: 'v<1>' })).toContain('node v&lt;1&gt;');
  });
});
