import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildEchoPacket,
  buildGsoTcpPacket,
  buildIcmpErrorPacket,
  buildIpv4,
  buildTcpPacket,
  buildUdpPacket,
  checksumProblems,
  fragmentDatagram,
  parseIpv4,
  parseTcp,
  parseUdp,
  parseVnetHeader,
  TcpFlag,
  toNeedsCsum,
  withVnetHeader,
} from '../../test/support/packets/index.ts';
import type { NatPolicy } from '../model/nat-policy.ts';
import { Core, type CoreConfig } from './core.ts';
import { CoreError } from './core-error.ts';
import { loadCoreModule } from './core-module.ts';
import { Verdict } from './nat-engine.ts';
import { portHash } from './reference/port-hash.ts';

// Behaviour of the compiled core, case by case, keyed by verdict. The property tests in
// test/core/ compare it with the reference model on random traffic.

const POD = '10.244.1.5';
const POD2 = '10.244.1.6';
const REMOTE = '203.0.113.10';
const REMOTE2 = '203.0.113.11';
const VIP = '172.18.18.242';
const ROUTER = '172.18.18.1';

const policy: NatPolicy = {
  egress: [{ ip: VIP, portMin: 1024, portMax: 65535 }],
  rules: [
    {
      sources: ['10.244.1.0/24'],
      destinations: ['0.0.0.0/0'],
      excluded: ['10.0.0.0/8'],
      egressIP: VIP,
    },
  ],
};

async function core(
  config: Partial<CoreConfig> = {},
  withPolicy: NatPolicy = policy,
): Promise<Core> {
  const c = await Core.create({ maxFlows: 1024, vnetHdrLen: 0, ...config });
  c.setPolicy(withPolicy);
  return c;
}

function udp(
  src: string,
  srcPort: number,
  dst: string,
  dstPort: number,
  payload = 'hello',
): Uint8Array {
  return buildUdpPacket(
    { src, dst },
    { srcPort, dstPort, payload: new TextEncoder().encode(payload) },
  );
}

function tcp(
  src: string,
  srcPort: number,
  dst: string,
  dstPort: number,
  flags: number,
): Uint8Array {
  return buildTcpPacket({ src, dst }, { srcPort, dstPort, flags, seq: 1000, ack: 2000 });
}

/** Processes one packet and returns its verdict and bytes. */
function one(c: Core, packet: Uint8Array, now = 1000): { verdict: number; packet: Uint8Array } {
  const result = c.process([packet], now);
  return { verdict: result.verdicts[0]!, packet: result.packets[0]! };
}

beforeAll(async () => {
  await loadCoreModule();
});

describe('forward: translation', () => {
  it('rewrites an outbound UDP datagram to the egress address, keeping the port, and its reply back', async () => {
    const c = await core();
    const out = one(c, udp(POD, 40000, REMOTE, 53));
    expect(out.verdict).toBe(Verdict.forward);
    expect(parseIpv4(out.packet)).toMatchObject({ src: VIP, dst: REMOTE });
    expect(parseUdp(out.packet.subarray(20)).srcPort).toBe(40000);
    expect(checksumProblems(out.packet)).toEqual([]);

    const back = one(c, udp(REMOTE, 53, VIP, 40000, 'answer'));
    expect(back.verdict).toBe(Verdict.forward);
    expect(parseIpv4(back.packet)).toMatchObject({ src: REMOTE, dst: POD });
    expect(parseUdp(back.packet.subarray(20)).dstPort).toBe(40000);
    expect(checksumProblems(back.packet)).toEqual([]);
    expect(c.counters()).toMatchObject({
      flows_created: 1n,
      mappings_created: 1n,
      ports_preserved: 1n,
    });
  });

  it('maps one internal endpoint to one egress port for every destination (RFC 4787 REQ-1)', async () => {
    const c = await core();
    // Another pod holds port 40000 first, so the second one's mapping must move.
    one(c, udp(POD2, 40000, REMOTE, 53));
    const first = one(c, udp(POD, 40000, REMOTE, 53)).packet;
    const second = one(c, udp(POD, 40000, REMOTE2, 123)).packet;
    const port = parseUdp(first.subarray(20)).srcPort;
    expect(port).not.toBe(40000);
    expect(parseUdp(second.subarray(20)).srcPort).toBe(port);
    expect(c.mappingCount()).toBe(2);
    expect(c.flowCount()).toBe(3);
  });

  it('picks the first free port from portHash when the internal port is taken or outside the range', async () => {
    const seed = 0x1234;
    const c = await core(
      { seed },
      { ...policy, egress: [{ ip: VIP, portMin: 20000, portMax: 20999 }] },
    );
    const out = one(c, udp(POD, 53, REMOTE, 53)).packet;
    const expected = 20000 + (portHash(seed, 0x0af40105, 53, 17) % 1000);
    expect(parseUdp(out.subarray(20)).srcPort).toBe(expected);
  });

  it('translates TCP in both directions with valid checksums', async () => {
    const c = await core();
    const syn = one(c, tcp(POD, 33000, REMOTE, 443, TcpFlag.syn));
    expect(syn.verdict).toBe(Verdict.forward);
    expect(parseIpv4(syn.packet).src).toBe(VIP);
    expect(checksumProblems(syn.packet)).toEqual([]);
    const synAck = one(c, tcp(REMOTE, 443, VIP, 33000, TcpFlag.syn | TcpFlag.ack));
    expect(parseIpv4(synAck.packet).dst).toBe(POD);
    expect(parseTcp(synAck.packet.subarray(20)).dstPort).toBe(33000);
    expect(checksumProblems(synAck.packet)).toEqual([]);
  });

  it('translates ICMP echo identifiers both ways', async () => {
    const c = await core({}, { ...policy, egress: [{ ip: VIP, portMin: 50000, portMax: 50009 }] });
    const request = one(
      c,
      buildEchoPacket({ src: POD, dst: REMOTE }, { type: 'request', id: 7, sequence: 1 }),
    );
    expect(request.verdict).toBe(Verdict.forward);
    const id = (request.packet[24]! << 8) | request.packet[25]!;
    expect(id).toBeGreaterThanOrEqual(50000);
    expect(checksumProblems(request.packet)).toEqual([]);
    const reply = one(
      c,
      buildEchoPacket({ src: REMOTE, dst: VIP }, { type: 'reply', id, sequence: 1 }),
    );
    expect(reply.verdict).toBe(Verdict.forward);
    expect(parseIpv4(reply.packet).dst).toBe(POD);
    expect((reply.packet[24]! << 8) | reply.packet[25]!).toBe(7);
    expect(checksumProblems(reply.packet)).toEqual([]);
  });

  it('forwards UDP whatever its length field says (GSO and fragments make it differ)', async () => {
    const c = await core();
    const packet = buildUdpPacket(
      { src: POD, dst: REMOTE },
      { srcPort: 4000, dstPort: 53, length: 3 },
    );
    expect(one(c, packet).verdict).toBe(Verdict.forward);
  });

  it('leaves a zero UDP checksum at zero (RFC 768)', async () => {
    const c = await core();
    const packet = buildUdpPacket(
      { src: POD, dst: REMOTE },
      { srcPort: 1, dstPort: 2, checksum: 0 },
    );
    const out = one(c, packet).packet;
    expect(parseUdp(out.subarray(20)).checksum).toBe(0);
  });

  it('keeps IPv4 options and bytes beyond the total length untouched', async () => {
    const c = await core();
    const options = new Uint8Array([1, 1, 1, 0]);
    const packet = buildUdpPacket(
      { src: POD, dst: REMOTE, options },
      { srcPort: 5000, dstPort: 53 },
    );
    const padded = new Uint8Array(packet.length + 6).fill(0xee);
    padded.set(packet);
    const out = one(c, padded).packet;
    expect(parseIpv4(out)).toMatchObject({ src: VIP, headerLength: 24 });
    expect(out.subarray(packet.length)).toEqual(new Uint8Array(6).fill(0xee));
    expect(checksumProblems(out.subarray(0, packet.length))).toEqual([]);
  });
});

describe('forward: offloads (virtio_net_hdr)', () => {
  it('updates a NEEDS_CSUM partial sum by the address change only', async () => {
    const c = await core({ vnetHdrLen: 10 });
    const slot = toNeedsCsum(tcp(POD, 33001, REMOTE, 443, TcpFlag.syn), 10);
    const out = one(c, slot).packet;
    expect(parseVnetHeader(out, 10)).toEqual(parseVnetHeader(slot, 10));
    expect(parseIpv4(out.subarray(10)).src).toBe(VIP);
    expect(checksumProblems(out, 10)).toEqual([]);
  });

  it('rewrites a TSO super-packet once and keeps its virtio header', async () => {
    const c = await core({ vnetHdrLen: 10 });
    const payload = new Uint8Array(60000).fill(7);
    const slot = buildGsoTcpPacket(
      { src: POD, dst: REMOTE },
      { srcPort: 33002, dstPort: 443, flags: TcpFlag.ack, payload },
      1448,
      10,
    );
    const out = one(c, slot).packet;
    expect(out.length).toBe(slot.length);
    expect(parseVnetHeader(out, 10)).toEqual(parseVnetHeader(slot, 10));
    expect(checksumProblems(out, 10)).toEqual([]);
    expect(c.counters()['gso_packets']).toBe(1n);
  });

  it('calls a GSO type that does not match the protocol malformed', async () => {
    const c = await core({ vnetHdrLen: 10 });
    const slot = withVnetHeader(udp(POD, 1, REMOTE, 2), 10, { gsoType: 1 });
    expect(one(c, slot).verdict).toBe(Verdict.malformed);
  });
});

describe('drops, by verdict', () => {
  const cases: Array<[string, () => Uint8Array, number]> = [
    [
      'a packet shorter than an IPv4 header',
      () => new Uint8Array(19).fill(0x45),
      Verdict.malformed,
    ],
    [
      'an IHL below 5',
      () => buildUdpPacket({ src: POD, dst: REMOTE, headerLength: 16 }, { srcPort: 1, dstPort: 2 }),
      Verdict.malformed,
    ],
    [
      'a total length beyond the buffer',
      () => buildUdpPacket({ src: POD, dst: REMOTE, totalLength: 400 }, { srcPort: 1, dstPort: 2 }),
      Verdict.malformed,
    ],
    [
      'a total length below the header',
      () => buildUdpPacket({ src: POD, dst: REMOTE, totalLength: 12 }, { srcPort: 1, dstPort: 2 }),
      Verdict.malformed,
    ],
    [
      'version 5',
      () => buildUdpPacket({ src: POD, dst: REMOTE, version: 5 }, { srcPort: 1, dstPort: 2 }),
      Verdict.malformed,
    ],
    [
      'a truncated TCP header',
      () => buildIpv4({ src: POD, dst: REMOTE, protocol: 6 }, new Uint8Array(12)),
      Verdict.malformed,
    ],
    [
      'a TCP data offset past the segment',
      () =>
        buildTcpPacket(
          { src: POD, dst: REMOTE },
          { srcPort: 1, dstPort: 2, flags: 2, dataOffset: 60 },
        ),
      Verdict.malformed,
    ],
    [
      'a truncated UDP header',
      () => buildIpv4({ src: POD, dst: REMOTE, protocol: 17 }, new Uint8Array(4)),
      Verdict.malformed,
    ],
    [
      'a truncated ICMP header',
      () => buildIpv4({ src: POD, dst: REMOTE, protocol: 1 }, new Uint8Array(4)),
      Verdict.malformed,
    ],
    ['IPv6', () => Uint8Array.from([0x60, ...new Array(47).fill(0)]), Verdict.unsupported],
    [
      'GRE',
      () => buildIpv4({ src: POD, dst: REMOTE, protocol: 47 }, new Uint8Array(8)),
      Verdict.unsupported,
    ],
    [
      'an ICMP timestamp request',
      () =>
        buildIpv4(
          { src: POD, dst: REMOTE, protocol: 1 },
          Uint8Array.from([13, 0, 0, 0, 0, 0, 0, 0]),
        ),
      Verdict.unsupported,
    ],
    ['a source no rule selects', () => udp('10.244.2.9', 1, REMOTE, 2), Verdict.noPolicy],
    ['an excluded destination', () => udp(POD, 1, '10.96.0.10', 53), Verdict.noPolicy],
    ['a reply with no flow', () => udp(REMOTE, 53, VIP, 40000), Verdict.noFlow],
    [
      'an echo request to the egress address',
      () => buildEchoPacket({ src: REMOTE, dst: VIP }, { type: 'request', id: 1 }),
      Verdict.noFlow,
    ],
    [
      'an echo reply from a pod',
      () => buildEchoPacket({ src: POD, dst: REMOTE }, { type: 'reply', id: 1 }),
      Verdict.noFlow,
    ],
  ];
  for (const [what, build, verdict] of cases) {
    it(`${what}: ${verdict}`, async () => {
      const c = await core();
      const packet = build();
      const result = one(c, packet);
      expect(result.verdict).toBe(verdict);
      expect(result.packet).toEqual(packet);
      const name = ['', 'drop_malformed', 'drop_unsupported', 'drop_no_policy', 'drop_no_flow'][
        verdict
      ]!;
      expect(c.counters()[name]).toBe(1n);
    });
  }

  it('drops with ports_exhausted when the range has no free port', async () => {
    const c = await core({}, { ...policy, egress: [{ ip: VIP, portMin: 2000, portMax: 2001 }] });
    expect(one(c, udp(POD, 1, REMOTE, 2)).verdict).toBe(Verdict.forward);
    expect(one(c, udp(POD, 2, REMOTE, 2)).verdict).toBe(Verdict.forward);
    expect(one(c, udp(POD, 3, REMOTE, 2)).verdict).toBe(Verdict.portsExhausted);
    // The same endpoint still reaches new destinations on its mapping.
    expect(one(c, udp(POD, 1, REMOTE2, 9)).verdict).toBe(Verdict.forward);
  });

  it('refuses a configuration it cannot lay out', async () => {
    await expect(Core.create({ maxFlows: 1000 })).rejects.toMatchObject({
      code: 'EGW_CORE_CONFIG',
    });
    await expect(Core.create({ maxFlows: 1000 })).rejects.toBeInstanceOf(CoreError);
  });
});

describe('flow lifetime', () => {
  it('keeps an established TCP flow for 2 h 4 min and forgets it after', async () => {
    const c = await core();
    one(c, tcp(POD, 33010, REMOTE, 443, TcpFlag.syn), 0);
    one(c, tcp(REMOTE, 443, VIP, 33010, TcpFlag.syn | TcpFlag.ack), 10);
    one(c, tcp(POD, 33010, REMOTE, 443, TcpFlag.ack), 20);
    expect(one(c, tcp(REMOTE, 443, VIP, 33010, TcpFlag.ack), 7_440_000).verdict).toBe(
      Verdict.forward,
    );
    expect(one(c, tcp(REMOTE, 443, VIP, 33010, TcpFlag.ack), 2 * 7_440_000 + 1).verdict).toBe(
      Verdict.noFlow,
    );
    expect(c.flowCount()).toBe(0);
    expect(c.mappingCount()).toBe(0);
  });

  it('gives an unanswered SYN the transitory timeout (4 min)', async () => {
    const c = await core();
    one(c, tcp(POD, 33011, REMOTE, 443, TcpFlag.syn), 0);
    expect(one(c, tcp(REMOTE, 443, VIP, 33011, TcpFlag.syn | TcpFlag.ack), 240_000).verdict).toBe(
      Verdict.noFlow,
    );
  });

  it('closes after FINs both ways (TIME_WAIT, 2 min) and after a RST (10 s)', async () => {
    const c = await core();
    one(c, tcp(POD, 33012, REMOTE, 443, TcpFlag.syn), 0);
    one(c, tcp(REMOTE, 443, VIP, 33012, TcpFlag.syn | TcpFlag.ack), 1);
    one(c, tcp(POD, 33012, REMOTE, 443, TcpFlag.fin | TcpFlag.ack), 2);
    one(c, tcp(REMOTE, 443, VIP, 33012, TcpFlag.fin | TcpFlag.ack), 3);
    expect(one(c, tcp(POD, 33012, REMOTE, 443, TcpFlag.ack), 119_000).verdict).toBe(
      Verdict.forward,
    );
    expect(one(c, tcp(REMOTE, 443, VIP, 33012, TcpFlag.ack), 119_000 + 120_000).verdict).toBe(
      Verdict.noFlow,
    );

    one(c, tcp(POD, 33013, REMOTE, 443, TcpFlag.syn), 0);
    one(c, tcp(REMOTE, 443, VIP, 33013, TcpFlag.rst | TcpFlag.ack), 1);
    expect(one(c, tcp(REMOTE, 443, VIP, 33013, TcpFlag.ack), 10_001).verdict).toBe(Verdict.noFlow);
  });

  it('keeps UDP flows 2 min and ICMP echo 1 min after the last packet', async () => {
    const c = await core();
    one(c, udp(POD, 5353, REMOTE, 53), 0);
    expect(one(c, udp(REMOTE, 53, VIP, 5353), 119_999).verdict).toBe(Verdict.forward);
    expect(one(c, udp(REMOTE, 53, VIP, 5353), 119_999 + 120_000).verdict).toBe(Verdict.noFlow);
    one(c, buildEchoPacket({ src: POD, dst: REMOTE }, { type: 'request', id: 3000 }), 0);
    expect(
      one(c, buildEchoPacket({ src: REMOTE, dst: VIP }, { type: 'reply', id: 3000 }), 60_000)
        .verdict,
    ).toBe(Verdict.noFlow);
  });

  it('frees everything expired on sweepAll', async () => {
    const c = await core();
    for (let port = 1; port <= 50; port++) one(c, udp(POD, port, REMOTE, 53), 0);
    expect(c.flowCount()).toBe(50);
    c.sweepAll(500_000);
    expect(c.flowCount()).toBe(0);
    expect(c.mappingCount()).toBe(0);
    expect(c.counters()['flows_expired']).toBe(50n);
  });

  it('evicts closing flows first when the table is full', async () => {
    const c = await core({ maxFlows: 16 });
    for (let port = 2001; port <= 2015; port++) one(c, udp(POD, port, REMOTE, 53), 0);
    one(c, tcp(POD, 9999, REMOTE, 443, TcpFlag.syn), 0);
    one(c, tcp(REMOTE, 443, VIP, 9999, TcpFlag.rst), 1);
    expect(c.flowCount()).toBe(16);
    expect(one(c, udp(POD, 100, REMOTE, 53), 2).verdict).toBe(Verdict.forward);
    expect(c.flowCount()).toBe(16);
    expect(c.counters()['flows_evicted']).toBe(1n);
    // The evicted one was the reset TCP flow: every UDP flow still answers.
    for (let port = 2001; port <= 2015; port++)
      expect(one(c, udp(REMOTE, 53, VIP, port), 3).verdict).toBe(Verdict.forward);
  });
});

describe('table swaps', () => {
  it('moves a flow to the new egress address when its rule changes', async () => {
    const c = await core();
    expect(parseIpv4(one(c, udp(POD, 7000, REMOTE, 53)).packet).src).toBe(VIP);
    c.setPolicy({
      ...policy,
      egress: [{ ip: '172.18.18.243', portMin: 1024, portMax: 65535 }],
      rules: [{ ...policy.rules[0]!, egressIP: '172.18.18.243' }],
    });
    // The old address is no longer an egress address: its replies are not ours.
    expect(one(c, udp(REMOTE, 53, VIP, 7000)).verdict).toBe(Verdict.noPolicy);
    expect(parseIpv4(one(c, udp(POD, 7000, REMOTE, 53)).packet).src).toBe('172.18.18.243');
    expect(c.counters()).toMatchObject({ flows_invalidated: 1n, table_swaps: 2n });
  });

  it('keeps flows whose rule still resolves the same way', async () => {
    const c = await core();
    one(c, udp(POD, 7001, REMOTE, 53));
    c.setPolicy({
      ...policy,
      rules: [{ ...policy.rules[0]!, excluded: ['10.0.0.0/8', '192.0.2.0/24'] }],
    });
    expect(one(c, udp(REMOTE, 53, VIP, 7001)).verdict).toBe(Verdict.forward);
    expect(c.counters()['flows_invalidated']).toBe(0n);
  });

  it('counts the ports taken per egress address', async () => {
    const c = await core();
    for (let port = 2000; port < 2005; port++) one(c, udp(POD, port, REMOTE, 53));
    one(c, tcp(POD, 3000, REMOTE, 443, TcpFlag.syn));
    expect(c.portUse()).toEqual([{ egressIP: VIP, inUse: 5, rangeSize: 64512 }]);
  });

  it('answers "which address would this pair leave with"', async () => {
    const c = await core();
    expect(
      c.resolve([
        [POD, REMOTE],
        [POD, '10.1.2.3'],
        ['10.9.9.9', REMOTE],
      ]),
    ).toEqual([VIP, null, null]);
  });
});

describe('ICMP errors (RFC 5508)', () => {
  it('translates fragmentation-needed about an outbound TCP segment back to the pod', async () => {
    const c = await core();
    const sent = one(c, tcp(POD, 33020, REMOTE, 443, TcpFlag.ack)).packet;
    const error = buildIcmpErrorPacket(
      { src: ROUTER, dst: VIP },
      {
        error: { type: 'destination-unreachable', code: 4, nextHopMtu: 1400 },
        quoted: sent,
        quoteLength: 'linux',
      },
    );
    const out = one(c, error);
    expect(out.verdict).toBe(Verdict.forward);
    expect(parseIpv4(out.packet).dst).toBe(POD);
    const quote = out.packet.subarray(28);
    expect(parseIpv4(quote)).toMatchObject({ src: POD, dst: REMOTE });
    expect(parseTcp(quote.subarray(20)).srcPort).toBe(33020);
    // The MTU the pod must learn is unchanged.
    expect((out.packet[26]! << 8) | out.packet[27]!).toBe(1400);
    expect(checksumProblems(out.packet)).toEqual([]);
  });

  it('translates a minimal quote (header + 8 bytes) of a UDP datagram', async () => {
    const c = await core();
    const sent = one(c, udp(POD, 6000, REMOTE, 9999)).packet;
    const error = buildIcmpErrorPacket(
      { src: REMOTE, dst: VIP },
      { error: { type: 'destination-unreachable', code: 3 }, quoted: sent, quoteLength: 'minimum' },
    );
    const out = one(c, error);
    expect(out.verdict).toBe(Verdict.forward);
    expect(parseIpv4(out.packet.subarray(28))).toMatchObject({ src: POD });
    expect(checksumProblems(out.packet)).toEqual([]);
  });

  it('translates an error a pod sends about a reply it received', async () => {
    const c = await core();
    one(c, udp(POD, 6001, REMOTE, 9999));
    const reply = one(c, udp(REMOTE, 9999, VIP, 6001)).packet;
    const error = buildIcmpErrorPacket(
      { src: POD, dst: REMOTE },
      { error: { type: 'destination-unreachable', code: 3 }, quoted: reply },
    );
    const out = one(c, error);
    expect(out.verdict).toBe(Verdict.forward);
    expect(parseIpv4(out.packet)).toMatchObject({ src: VIP, dst: REMOTE });
    expect(parseIpv4(out.packet.subarray(28))).toMatchObject({ src: REMOTE, dst: VIP });
    expect(checksumProblems(out.packet)).toEqual([]);
    expect(c.counters()['icmp_errors_translated']).toBe(1n);
  });

  it('translates time-exceeded about an echo request', async () => {
    const c = await core();
    const sent = one(
      c,
      buildEchoPacket({ src: POD, dst: REMOTE }, { type: 'request', id: 4321 }),
    ).packet;
    const error = buildIcmpErrorPacket(
      { src: ROUTER, dst: VIP },
      { error: { type: 'time-exceeded', code: 0 }, quoted: sent },
    );
    const out = one(c, error);
    expect(out.verdict).toBe(Verdict.forward);
    const quote = out.packet.subarray(28);
    expect((quote[24]! << 8) | quote[25]!).toBe(4321);
    expect(checksumProblems(out.packet)).toEqual([]);
  });

  it('drops an error about no flow of ours, and a quote too short to hold ports', async () => {
    const c = await core();
    const stranger = udp('172.18.18.242', 1, REMOTE, 2);
    const error = buildIcmpErrorPacket(
      { src: ROUTER, dst: VIP },
      { error: { type: 'destination-unreachable', code: 1 }, quoted: stranger },
    );
    expect(one(c, error).verdict).toBe(Verdict.noFlow);
    const short = buildIcmpErrorPacket(
      { src: ROUTER, dst: VIP },
      { error: { type: 'destination-unreachable', code: 1 }, quoted: stranger, quoteLength: 24 },
    );
    expect(one(c, short).verdict).toBe(Verdict.malformed);
  });
});

describe('fragments', () => {
  const datagram = (
    src: string,
    sport: number,
    dst: string,
    dport: number,
    id: number,
  ): Uint8Array =>
    buildUdpPacket(
      { src, dst, id },
      { srcPort: sport, dstPort: dport, payload: new Uint8Array(3000).map((_, i) => i) },
    );

  it('translates every fragment of an outbound datagram in order', async () => {
    const c = await core();
    const pieces = fragmentDatagram(datagram(POD, 8000, REMOTE, 9000, 77), 1480);
    expect(pieces.length).toBe(3);
    const result = c.process(pieces, 1000);
    expect(result.verdicts).toEqual([0, 0, 0]);
    for (const piece of result.packets) {
      expect(parseIpv4(piece).src).toBe(VIP);
      expect(checksumProblems(piece)).toEqual([]);
    }
  });

  it('holds later fragments that come first and releases them with the first, in arrival order', async () => {
    const c = await core();
    one(c, udp(POD, 8001, REMOTE, 9001), 0);
    const [first, second, third] = fragmentDatagram(datagram(REMOTE, 9001, VIP, 8001, 78), 1480);
    const early = c.process([third!, second!], 1);
    expect(early.verdicts).toEqual([Verdict.held, Verdict.held]);
    const late = c.process([first!], 2);
    expect(late.verdicts).toEqual([Verdict.forward]);
    expect(late.emitted.map((p) => parseIpv4(p).fragmentOffset)).toEqual([2960, 1480]);
    for (const piece of [late.packets[0]!, ...late.emitted]) {
      expect(parseIpv4(piece).dst).toBe(POD);
      expect(checksumProblems(piece)).toEqual([]);
    }
    expect(c.counters()).toMatchObject({ fragments_held: 2n, fragments_released: 2n });
  });

  it('lets held fragments expire', async () => {
    const c = await core();
    const [, second] = fragmentDatagram(datagram(REMOTE, 1, VIP, 2, 79), 1480);
    expect(one(c, second!, 0).verdict).toBe(Verdict.held);
    c.sweepAll(30_000);
    expect(c.counters()['fragments_expired']).toBe(1n);
  });
});

describe('export and import', () => {
  it('hands flows to a standby that then translates replies the same way', async () => {
    const active = await core();
    one(active, udp(POD, 9100, REMOTE, 53), 0);
    one(active, tcp(POD, 9101, REMOTE, 443, TcpFlag.syn), 0);
    const records = active.exportFlows(10);
    expect(records).toHaveLength(2);
    expect(records[0]).toMatchObject({
      internalIP: POD,
      egressIP: VIP,
      remoteIP: REMOTE,
      proto: 17,
      remainingMs: 119_990,
    });

    const standby = await core({ seed: 99 });
    expect(standby.importFlows(records, 5000)).toBe(2);
    const reply = one(standby, udp(REMOTE, 53, VIP, 9100), 6000);
    expect(reply.verdict).toBe(Verdict.forward);
    expect(parseIpv4(reply.packet).dst).toBe(POD);
    expect(standby.counters()['flows_imported']).toBe(2n);
  });

  it('skips records for addresses this node does not serve', async () => {
    const standby = await core();
    const taken = standby.importFlows(
      [
        {
          proto: 17,
          internalIP: POD,
          internalPort: 1,
          remoteIP: REMOTE,
          remotePort: 2,
          egressIP: '198.51.100.1',
          egressPort: 1,
          state: 7,
          remainingMs: 1000,
        },
      ],
      0,
    );
    expect(taken).toBe(0);
    expect(standby.counters()['flows_import_skipped']).toBe(1n);
  });
});

describe('worker attachment', () => {
  it('attaches a second instance to the same memory and sees the same flows', async () => {
    const c = await core();
    one(c, udp(POD, 9200, REMOTE, 53));
    const other = Core.attach(c.memory, c.module);
    expect(other.flowCount()).toBe(1);
    expect(other.process([udp(REMOTE, 53, VIP, 9200)], 1001).verdicts).toEqual([Verdict.forward]);
  });
});
