import { describe, expect, it } from 'vitest';
import {
  buildEchoPacket,
  buildGsoTcpPacket,
  buildIcmpErrorPacket,
  buildIpv4,
  buildTcpPacket,
  buildUdpPacket,
  checksumProblems,
  fixIpv4Checksum,
  fragmentDatagram,
  parseIpv4,
  pseudoHeaderSum,
  readU16,
  TcpFlag,
  toNeedsCsum,
  UnreachableCode,
  VnetGso,
  withVnetHeader,
} from '../../../test/support/packets/index.ts';
import type { NatPolicy } from '../../model/nat-policy.ts';
import { defaultTimeouts, type NatEngineConfig, Verdict } from '../nat-engine.ts';
import { FlowState } from './flow-state.ts';
import { portHash } from './port-hash.ts';
import { ReferenceNat } from './reference-nat.ts';

const EGRESS = '203.0.113.1';
const EGRESS_2 = '203.0.113.2';
const POD = '10.0.0.5';
const POD_2 = '10.0.0.6';
const REMOTE = '198.51.100.7';
const REMOTE_2 = '198.51.100.8';
const ROUTER = '192.0.2.254';
const SEED = 0x5eed;

function policy(egressIP = EGRESS, ports: [number, number] = [1024, 65535]): NatPolicy {
  return {
    egress: [EGRESS, EGRESS_2].map((ip) => ({ ip, portMin: ports[0], portMax: ports[1] })),
    rules: [
      { sources: ['10.0.0.0/24'], destinations: ['0.0.0.0/0'], excluded: ['10.0.0.0/8'], egressIP },
    ],
  };
}

function engine(overrides: Partial<NatEngineConfig> = {}, natPolicy = policy()): ReferenceNat {
  const nat = new ReferenceNat({
    maxFlows: 1024,
    vnetHdrLen: 0,
    seed: SEED,
    timeouts: defaultTimeouts,
    ...overrides,
  });
  nat.setPolicy(natPolicy);
  return nat;
}

/** One packet through the engine: its verdict and bytes. */
function send(
  nat: ReferenceNat,
  packet: Uint8Array,
  now = 1000,
): { verdict: number; out: Uint8Array } {
  const result = nat.process([packet], now);
  return { verdict: result.verdicts[0]!, out: result.packets[0]! };
}

const udp = (
  src: string,
  dst: string,
  sport: number,
  dport: number,
  extra: { checksum?: number } = {},
) =>
  buildUdpPacket(
    { src, dst, id: 77 },
    { srcPort: sport, dstPort: dport, payload: Uint8Array.of(1, 2, 3, 4, 5), ...extra },
  );
const tcp = (src: string, dst: string, sport: number, dport: number, flags: number) =>
  buildTcpPacket(
    { src, dst, id: 9, dontFragment: true },
    {
      srcPort: sport,
      dstPort: dport,
      flags,
      seq: 100,
      ack: 200,
      options: Uint8Array.of(2, 4, 5, 0xb4),
    },
  );
const echo = (src: string, dst: string, type: 'request' | 'reply', id: number) =>
  buildEchoPacket(
    { src, dst, id: 3 },
    { type, id, sequence: 1, payload: Uint8Array.of(0xab, 0xcd) },
  );

function counter(nat: ReferenceNat, name: string): number {
  return Number(nat.counters()[name]);
}

describe('forward', () => {
  it('translates an outbound packet to the egress address, keeping a free in-range port', () => {
    const nat = engine();
    const { verdict, out } = send(nat, udp(POD, REMOTE, 40000, 53));
    expect(verdict).toBe(Verdict.forward);
    // Incremental updates give exactly what a fresh build (full checksums) gives.
    expect(out).toEqual(udp(EGRESS, REMOTE, 40000, 53));
    expect(counter(nat, 'ports_preserved')).toBe(1);
    expect(counter(nat, 'mappings_created')).toBe(1);
    expect(counter(nat, 'flows_created')).toBe(1);
  });

  it('translates the reply back to the internal endpoint', () => {
    const nat = engine();
    send(nat, tcp(POD, REMOTE, 40000, 443, TcpFlag.syn));
    const { verdict, out } = send(nat, tcp(REMOTE, EGRESS, 443, 40000, TcpFlag.syn | TcpFlag.ack));
    expect(verdict).toBe(Verdict.forward);
    expect(out).toEqual(tcp(REMOTE, POD, 443, 40000, TcpFlag.syn | TcpFlag.ack));
    expect(nat.flowCount()).toBe(1);
  });

  it('uses the echo identifier as the port, both ways', () => {
    const nat = engine(undefined, policy(EGRESS, [2000, 2999]));
    const request = send(nat, echo(POD, REMOTE, 'request', 0x0101));
    const port = 2000 + (portHash(SEED, 0x0a000005, 0x0101, 1) % 1000);
    expect(request.out).toEqual(echo(EGRESS, REMOTE, 'request', port));
    const reply = send(nat, echo(REMOTE, EGRESS, 'reply', port));
    expect(reply.out).toEqual(echo(REMOTE, POD, 'reply', 0x0101));
  });

  it('shares one mapping between the flows of an endpoint (RFC 4787 REQ-1)', () => {
    const nat = engine();
    send(nat, udp(POD, REMOTE, 40000, 53));
    const second = send(nat, udp(POD, REMOTE_2, 40000, 53));
    expect(second.out).toEqual(udp(EGRESS, REMOTE_2, 40000, 53));
    expect(counter(nat, 'mappings_created')).toBe(1);
    expect(counter(nat, 'flows_created')).toBe(2);
    // Address-and-port-dependent filtering: a third party gets nothing through.
    expect(send(nat, udp('198.51.100.99', EGRESS, 53, 40000)).verdict).toBe(Verdict.noFlow);
  });

  it('hashes to a start and scans upward when the port is taken', () => {
    const nat = engine();
    send(nat, udp(POD, REMOTE, 40000, 53));
    const { out } = send(nat, udp(POD_2, REMOTE, 40000, 53));
    const start = 1024 + (portHash(SEED, 0x0a000006, 40000, 17) % (65535 - 1024 + 1));
    expect(parseIpv4(out).src).toBe(EGRESS);
    expect(readU16(out, 20)).toBe(start);
    expect(counter(nat, 'ports_preserved')).toBe(1);
  });

  it('wraps the scan around the range and keeps protocols apart', () => {
    const nat = engine(undefined, policy(EGRESS, [5000, 5001]));
    const start = portHash(SEED, 0x0a000005, 7, 17) % 2;
    const ports = [7, 8].map((sport) => readU16(send(nat, udp(POD, REMOTE, sport, 53)).out, 20));
    expect(ports[0]).toBe(5000 + start);
    expect(ports[1]).toBe(5000 + (1 - start)); // the other one, whichever way it wraps
    // TCP has its own ports on the same address.
    expect(send(nat, tcp(POD, REMOTE, 9, 80, TcpFlag.syn)).verdict).toBe(Verdict.forward);
  });

  it('frees a mapping with its last flow', () => {
    const nat = engine(undefined, policy(EGRESS, [5000, 5000]));
    send(nat, udp(POD, REMOTE, 1, 53), 0);
    expect(send(nat, udp(POD_2, REMOTE, 1, 53), 1000).verdict).toBe(Verdict.portsExhausted);
    // The UDP timeout passes: the flow, its mapping and its port are gone.
    expect(send(nat, udp(POD_2, REMOTE, 1, 53), 120_000).out).toEqual(
      udp(EGRESS, REMOTE, 5000, 53),
    );
    expect(counter(nat, 'flows_expired')).toBe(1);
  });

  it('keeps a zero UDP checksum zero', () => {
    const nat = engine();
    const { out } = send(nat, udp(POD, REMOTE, 40000, 53, { checksum: 0 }));
    expect(readU16(out, 26)).toBe(0);
    expect(out).toEqual(udp(EGRESS, REMOTE, 40000, 53, { checksum: 0 }));
  });

  it('leaves a wrong checksum exactly as wrong (incremental update)', () => {
    const nat = engine();
    const good = udp(POD, REMOTE, 40000, 53);
    const bad = good.slice();
    bad[26]! ^= 0x01;
    const { out } = send(nat, bad);
    const expected = udp(EGRESS, REMOTE, 40000, 53);
    expect(readU16(out, 26) ^ readU16(expected, 26)).toBe(0x0100);
  });

  it('keeps the virtio header and rewrites NEEDS_CSUM packets by the pseudo-header only', () => {
    const nat = engine({ vnetHdrLen: 12 });
    const slot = toNeedsCsum(tcp(POD, REMOTE, 40000, 443, TcpFlag.syn), 12, { numBuffers: 1 });
    const { verdict, out } = send(nat, slot);
    expect(verdict).toBe(Verdict.forward);
    expect(out.subarray(0, 12)).toEqual(slot.subarray(0, 12));
    expect(readU16(out, 12 + 20 + 16)).toBe(pseudoHeaderSum(EGRESS, REMOTE, 6, 24));
    expect(checksumProblems(out, 12)).toEqual([]);
    const udpSlot = toNeedsCsum(udp(POD, REMOTE, 40001, 53), 12);
    expect(checksumProblems(send(nat, udpSlot).out, 12)).toEqual([]);
  });

  it('treats the L4 field as a full checksum when csum_start is not the L4 header', () => {
    const nat = engine({ vnetHdrLen: 10 });
    const header = { flags: 1, csumStart: 0, csumOffset: 10 };
    const { out } = send(nat, withVnetHeader(udp(POD, REMOTE, 40000, 53), 10, header));
    expect(out.subarray(10)).toEqual(udp(EGRESS, REMOTE, 40000, 53));
  });

  it('leaves a partial ICMP sum alone: no pseudo-header, the device sums the new bytes', () => {
    const nat = engine({ vnetHdrLen: 10 }, policy(EGRESS, [2000, 2000]));
    const request = echo(POD, REMOTE, 'request', 7);
    const slot = withVnetHeader(request, 10, { flags: 1, csumStart: 20, csumOffset: 2 });
    const { out } = send(nat, slot);
    expect(readU16(out, 10 + 20 + 4)).toBe(2000);
    expect(readU16(out, 10 + 22)).toBe(readU16(request, 22));
  });

  it('keeps IPv4 options and the bytes past the total length untouched', () => {
    const nat = engine();
    const options = Uint8Array.of(0x94, 0x04, 0x00, 0x00);
    const withOptions = (src: string) =>
      buildUdpPacket(
        { src, dst: REMOTE, options },
        { srcPort: 40000, dstPort: 53, payload: Uint8Array.of(9) },
      );
    const padded = Uint8Array.from([...withOptions(POD), 0xee, 0xee]);
    const { verdict, out } = send(nat, padded);
    expect(verdict).toBe(Verdict.forward);
    expect(out).toEqual(Uint8Array.from([...withOptions(EGRESS), 0xee, 0xee]));
  });

  it('rewrites a GSO super-packet once, header only, and counts it', () => {
    const nat = engine({ vnetHdrLen: 10 });
    const slot = buildGsoTcpPacket(
      { src: POD, dst: REMOTE, id: 1 },
      {
        srcPort: 40000,
        dstPort: 5201,
        flags: TcpFlag.ack,
        payload: new Uint8Array(64_000).fill(0x42),
      },
      1448,
      10,
    );
    const { verdict, out } = send(nat, slot);
    expect(verdict).toBe(Verdict.forward);
    expect(out.length).toBe(slot.length);
    expect(out.subarray(0, 10)).toEqual(slot.subarray(0, 10));
    expect(out.subarray(10 + 40)).toEqual(slot.subarray(10 + 40));
    expect(parseIpv4(out.subarray(10)).src).toBe(EGRESS);
    expect(checksumProblems(out, 10)).toEqual([]);
    expect(counter(nat, 'gso_packets')).toBe(1);
  });

  it('translates an inbound ICMP error (fragmentation needed) about our packet', () => {
    const nat = engine();
    const sent = send(nat, tcp(POD, REMOTE, 40000, 443, TcpFlag.ack)).out;
    for (const quoteLength of ['minimum', 'linux'] as const) {
      const error = (dst: string, quoted: Uint8Array) =>
        buildIcmpErrorPacket(
          { src: ROUTER, dst },
          {
            error: {
              type: 'destination-unreachable',
              code: UnreachableCode.fragmentationNeeded,
              nextHopMtu: 1400,
            },
            quoted,
            quoteLength,
          },
        );
      const { verdict, out } = send(nat, error(EGRESS, sent));
      expect(verdict).toBe(Verdict.forward);
      // What the pod must see: an error about the packet it sent, every checksum right.
      expect(out).toEqual(error(POD, tcp(POD, REMOTE, 40000, 443, TcpFlag.ack)));
      expect(checksumProblems(out)).toEqual([]);
    }
    expect(counter(nat, 'icmp_errors_translated')).toBe(2);
  });

  it('translates an outbound ICMP error (port unreachable) about a reply', () => {
    const nat = engine();
    send(nat, udp(POD, REMOTE, 40000, 53));
    const reply = send(nat, udp(REMOTE, EGRESS, 53, 40000)).out;
    const error = (src: string, quoted: Uint8Array) =>
      buildIcmpErrorPacket(
        { src, dst: REMOTE },
        {
          error: { type: 'destination-unreachable', code: UnreachableCode.port },
          quoted,
          quoteLength: 'linux',
        },
      );
    const { verdict, out } = send(nat, error(POD, reply));
    expect(verdict).toBe(Verdict.forward);
    expect(out).toEqual(error(EGRESS, udp(REMOTE, EGRESS, 53, 40000)));
    expect(checksumProblems(out)).toEqual([]);
  });

  it('translates time exceeded about an echo request (traceroute) and parameter problem', () => {
    const nat = engine(undefined, policy(EGRESS, [3000, 3000]));
    const sent = send(nat, echo(POD, REMOTE, 'request', 77)).out;
    expect(readU16(sent, 24)).toBe(3000);
    const timeExceeded = (dst: string, quoted: Uint8Array) =>
      buildIcmpErrorPacket(
        { src: ROUTER, dst },
        { error: { type: 'time-exceeded', code: 0 }, quoted },
      );
    const out = send(nat, timeExceeded(EGRESS, sent)).out;
    expect(out).toEqual(timeExceeded(POD, echo(POD, REMOTE, 'request', 77)));
    const problem = (dst: string, quoted: Uint8Array) =>
      buildIcmpErrorPacket(
        { src: ROUTER, dst },
        { error: { type: 'parameter-problem', pointer: 8 }, quoted, quoteLength: 'linux' },
      );
    expect(send(nat, problem(EGRESS, sent)).out).toEqual(
      problem(POD, echo(POD, REMOTE, 'request', 77)),
    );
  });

  it('keeps a zero checksum of a quoted UDP datagram zero', () => {
    const nat = engine();
    const sent = send(nat, udp(POD, REMOTE, 40000, 53, { checksum: 0 })).out;
    const error = (dst: string, quoted: Uint8Array) =>
      buildIcmpErrorPacket(
        { src: ROUTER, dst },
        { error: { type: 'destination-unreachable', code: 1 }, quoted },
      );
    const out = send(nat, error(EGRESS, sent)).out;
    expect(out).toEqual(error(POD, udp(POD, REMOTE, 40000, 53, { checksum: 0 })));
  });

  it('translates later fragments by the entry of their first fragment', () => {
    const nat = engine();
    const datagram = buildUdpPacket(
      { src: POD, dst: REMOTE, id: 0x4242 },
      { srcPort: 40000, dstPort: 53, payload: new Uint8Array(100).fill(1) },
    );
    const fragments = fragmentDatagram(datagram, 48);
    const result = nat.process(fragments, 1000);
    expect(result.verdicts).toEqual([Verdict.forward, Verdict.forward, Verdict.forward]);
    const expected = fragmentDatagram(
      buildUdpPacket(
        { src: EGRESS, dst: REMOTE, id: 0x4242 },
        { srcPort: 40000, dstPort: 53, payload: new Uint8Array(100).fill(1) },
      ),
      48,
    );
    expect(result.packets).toEqual(expected);
  });

  it('translates inbound fragments of a reply', () => {
    const nat = engine();
    send(nat, udp(POD, REMOTE, 40000, 53));
    const reply = (dst: string, dport: number) =>
      buildUdpPacket(
        { src: REMOTE, dst, id: 5 },
        { srcPort: 53, dstPort: dport, payload: new Uint8Array(64).fill(2) },
      );
    const result = nat.process(fragmentDatagram(reply(EGRESS, 40000), 32), 2000);
    expect(result.packets).toEqual(fragmentDatagram(reply(POD, 40000), 32));
  });

  it('translates an outbound ICMP error from the pod to the egress identity', () => {
    const nat = engine();
    send(nat, echo(POD, REMOTE, 'request', 4000));
    const reply = send(nat, echo(REMOTE, EGRESS, 'reply', 4000)).out;
    const error = (src: string, quoted: Uint8Array) =>
      buildIcmpErrorPacket(
        { src, dst: REMOTE },
        { error: { type: 'parameter-problem', pointer: 0 }, quoted },
      );
    expect(send(nat, error(POD, reply)).out).toEqual(
      error(EGRESS, echo(REMOTE, EGRESS, 'reply', 4000)),
    );
  });
});

describe('held', () => {
  it('holds later fragments that come first and releases them, translated, in arrival order', () => {
    const nat = engine({ vnetHdrLen: 10 });
    const payload = Uint8Array.from({ length: 200 }, (_, i) => i);
    const build = (src: string) =>
      fragmentDatagram(
        buildUdpPacket({ src, dst: REMOTE, id: 9 }, { srcPort: 40000, dstPort: 53, payload }),
        64,
      ).map((fragment) => withVnetHeader(fragment, 10, { flags: 2 }));
    const [first, second, third, fourth] = build(POD);
    const held = nat.process([fourth!, second!], 1000);
    expect(held.verdicts).toEqual([Verdict.held, Verdict.held]);
    expect(held.packets).toEqual([fourth, second]);
    expect(held.emitted).toEqual([]);
    const released = nat.process([first!, third!], 2000);
    expect(released.verdicts).toEqual([Verdict.forward, Verdict.forward]);
    const expected = build(EGRESS);
    expect(released.packets).toEqual([expected[0], expected[2]]);
    expect(released.emitted).toEqual([expected[3], expected[1]]);
    expect(counter(nat, 'fragments_held')).toBe(2);
    expect(counter(nat, 'fragments_released')).toBe(2);
  });

  it('lets held fragments and fragment entries expire after the fragment timeout', () => {
    const nat = engine();
    const [first, second] = fragmentDatagram(udp(POD, REMOTE, 40000, 53), 8);
    expect(send(nat, second!, 0).verdict).toBe(Verdict.held);
    const late = nat.process([first!], 30_000);
    expect(late.emitted).toEqual([]);
    expect(counter(nat, 'fragments_expired')).toBe(1);
    // The entry lives 30 s from its first fragment; later fragments do not extend it.
    expect(send(nat, second!, 59_999).verdict).toBe(Verdict.forward);
    expect(send(nat, second!, 60_000).verdict).toBe(Verdict.held);
  });

  it('keeps fragments whose first fragment is dropped until they expire', () => {
    const nat = engine();
    const [first, second] = fragmentDatagram(udp(POD, '10.1.0.1', 40000, 53), 8);
    expect(nat.process([second!, first!], 0).verdicts).toEqual([Verdict.held, Verdict.noPolicy]);
    nat.sweepAll(29_999);
    expect(counter(nat, 'fragments_expired')).toBe(0);
    nat.sweepAll(30_000);
    expect(counter(nat, 'fragments_expired')).toBe(1);
  });
});

describe('time', () => {
  it('wraps around 2^32 milliseconds without losing a flow', () => {
    const nat = engine();
    const start = 0xffff_fff0;
    send(nat, udp(POD, REMOTE, 40000, 53), start);
    // 16 ms before the wrap plus 119,983 after: one millisecond short of the UDP timeout.
    expect(send(nat, udp(REMOTE, EGRESS, 53, 40000), 119_983).verdict).toBe(Verdict.forward);
    expect(nat.exportFlows(119_983)[0]!.remainingMs).toBe(120_000);
    expect(send(nat, udp(REMOTE, EGRESS, 53, 40000), 119_983 + 120_000).verdict).toBe(
      Verdict.noFlow,
    );
  });
});

describe('fragment_dropped', () => {
  it('drops a later fragment when 64 are held already', () => {
    const nat = engine();
    const laters = Array.from(
      { length: 65 },
      (_, id) =>
        fragmentDatagram(
          buildUdpPacket(
            { src: POD, dst: REMOTE, id },
            { srcPort: 1, dstPort: 2, payload: new Uint8Array(16) },
          ),
          8,
        )[1]!,
    );
    const result = nat.process(laters, 0);
    expect(result.verdicts.filter((v) => v === Verdict.held).length).toBe(64);
    expect(result.verdicts[64]).toBe(Verdict.fragmentDropped);
    expect(counter(nat, 'drop_fragment')).toBe(1);
  });

  it('drops a later fragment larger than 9,216 bytes and holds one of exactly that size', () => {
    const nat = engine({ vnetHdrLen: 10 });
    const later = (dataBytes: number) =>
      withVnetHeader(
        buildIpv4(
          { src: POD, dst: REMOTE, protocol: 17, id: 1, fragmentOffset: 8 },
          new Uint8Array(dataBytes),
        ),
        10,
      );
    expect(send(nat, later(9216 - 20)).verdict).toBe(Verdict.held);
    expect(send(nat, later(9217 - 20)).verdict).toBe(Verdict.fragmentDropped);
  });
});

describe('malformed', () => {
  const good = udp(POD, REMOTE, 40000, 53);
  const edit = (packet: Uint8Array, offset: number, value: number, fix = true) => {
    const copy = packet.slice();
    copy[offset] = value;
    return fix ? fixIpv4Checksum(copy) : copy;
  };
  const tcpGood = tcp(POD, REMOTE, 1, 2, TcpFlag.ack);
  const icmpError = buildIcmpErrorPacket(
    { src: ROUTER, dst: EGRESS },
    { error: { type: 'time-exceeded', code: 0 }, quoted: good },
  );
  it.each<[string, Uint8Array]>([
    ['shorter than an IPv4 header', good.subarray(0, 19)],
    ['IPv4 version 5', edit(good, 0, 0x55)],
    ['header length below 20', edit(good, 0, 0x44)],
    ['header length beyond the bytes', edit(good, 0, 0x4f).subarray(0, 40)],
    ['total length beyond the bytes', edit(good, 3, 200)],
    ['total length below the header', edit(edit(good, 2, 0), 3, 19)],
    ['TCP header cut short', buildIpv4({ src: POD, dst: REMOTE, protocol: 6 }, new Uint8Array(19))],
    ['TCP data offset below 5', edit(tcpGood, 32, 0x40, false)],
    ['TCP data offset beyond the segment', edit(tcpGood, 32, 0xf0, false)],
    ['UDP header cut short', buildIpv4({ src: POD, dst: REMOTE, protocol: 17 }, new Uint8Array(7))],
    [
      'ICMP header cut short',
      buildIpv4({ src: POD, dst: REMOTE, protocol: 1 }, Uint8Array.of(8, 0, 0, 0, 0, 0, 0)),
    ],
    [
      'ICMP error quoting less than a header',
      icmpError.subarray(0, 20 + 8 + 19).map((b, i) => (i === 3 ? 47 : b)),
    ],
    [
      'ICMP error quoting the header but not 8 bytes',
      fixIpv4Checksum(icmpError.slice(0, 20 + 8 + 27).map((b, i) => (i === 3 ? 55 : b))),
    ],
    ['ICMP error quoting a non-IPv4 header', edit(icmpError, 28, 0x65)],
  ])('%s', (_name, packet) => {
    expect(send(engine(), packet).verdict).toBe(Verdict.malformed);
  });

  const gsoTcp = buildGsoTcpPacket(
    { src: POD, dst: REMOTE },
    { srcPort: 1, dstPort: 2, flags: TcpFlag.ack, payload: new Uint8Array(3000) },
    1448,
    10,
  );
  it.each<[string, Uint8Array]>([
    ['shorter than the virtio header', new Uint8Array(9)],
    ['GSO TCPV4 on UDP', withVnetHeader(good, 10, { gsoType: VnetGso.tcpv4, gsoSize: 1400 })],
    ['GSO UDP_L4 on TCP', withVnetHeader(tcpGood, 10, { gsoType: VnetGso.udpL4, gsoSize: 1400 })],
    ['GSO TCPV6 on IPv4', withVnetHeader(tcpGood, 10, { gsoType: VnetGso.tcpv6, gsoSize: 1400 })],
    ['GSO UDP (UFO) on TCP', withVnetHeader(tcpGood, 10, { gsoType: VnetGso.udp, gsoSize: 1400 })],
  ])('virtio: %s', (_name, slot) => {
    expect(send(engine({ vnetHdrLen: 10 }), slot).verdict).toBe(Verdict.malformed);
  });

  it('leaves the rest of the virtio header to the kernel, which checks it on write', () => {
    const nat = engine({ vnetHdrLen: 10 });
    const lenient = [
      gsoTcp.map((b, i) => (i === 4 || i === 5 ? 0 : b)), // gso_size 0
      withVnetHeader(good, 10, { gsoType: VnetGso.ecn }), // the ECN bit alone
      withVnetHeader(udp(POD, REMOTE, 40001, 53), 10, { gsoType: VnetGso.udp, gsoSize: 1400 }), // UFO
      withVnetHeader(udp(POD, REMOTE, 40002, 53), 10, { flags: 1, csumStart: 20, csumOffset: 12 }), // past the end
      withVnetHeader(udp(POD, REMOTE, 40003, 53), 10, { flags: 0xfe }), // unknown flags
    ];
    expect(nat.process(lenient, 0).verdicts).toEqual(lenient.map(() => Verdict.forward));
    // A GSO type counts even when the packet is dropped later.
    const dropped = withVnetHeader(udp(POD, '10.9.9.9', 1, 2), 10, {
      gsoType: VnetGso.udpL4,
      gsoSize: 1,
    });
    expect(send(nat, dropped).verdict).toBe(Verdict.noPolicy);
    expect(counter(nat, 'gso_packets')).toBe(3);
  });

  it('counts every malformed packet', () => {
    const nat = engine();
    nat.process([good.subarray(0, 10), edit(good, 0, 0x44)], 0);
    expect(counter(nat, 'drop_malformed')).toBe(2);
  });
});

describe('unsupported', () => {
  const ipv6 = new Uint8Array(40);
  ipv6[0] = 0x60;
  const error = (quoted: Uint8Array) =>
    buildIcmpErrorPacket(
      { src: ROUTER, dst: EGRESS },
      { error: { type: 'destination-unreachable', code: 1 }, quoted },
    );
  it.each<[string, Uint8Array]>([
    ['IPv6', ipv6],
    ['GRE', buildIpv4({ src: POD, dst: REMOTE, protocol: 47 }, new Uint8Array(8))],
    [
      'a later fragment of GRE',
      buildIpv4({ src: POD, dst: REMOTE, protocol: 47, fragmentOffset: 8 }, new Uint8Array(8)),
    ],
    [
      'ICMP timestamp',
      buildIpv4({ src: POD, dst: REMOTE, protocol: 1 }, Uint8Array.of(13, 0, 0, 0, 0, 0, 0, 0)),
    ],
    [
      'an error quoting GRE',
      error(buildIpv4({ src: EGRESS, dst: REMOTE, protocol: 47 }, new Uint8Array(8))),
    ],
    [
      'an error quoting a later fragment',
      error(
        buildIpv4({ src: EGRESS, dst: REMOTE, protocol: 17, fragmentOffset: 8 }, new Uint8Array(8)),
      ),
    ],
    [
      'an error quoting an error',
      error(
        buildIpv4({ src: EGRESS, dst: REMOTE, protocol: 1 }, Uint8Array.of(3, 0, 0, 0, 0, 0, 0, 0)),
      ),
    ],
  ])('%s', (_name, packet) => {
    expect(send(engine(), packet).verdict).toBe(Verdict.unsupported);
  });
});

describe('no_policy', () => {
  it.each<[string, NatPolicy | null, Uint8Array]>([
    ['destination excluded (cluster CIDR)', policy(), udp(POD, '10.1.2.3', 1, 2)],
    ['source not selected', policy(), udp('10.0.1.5', REMOTE, 1, 2)],
    ['no policy at all', null, udp(POD, REMOTE, 1, 2)],
  ])('%s', (_name, natPolicy, packet) => {
    const nat = new ReferenceNat({
      maxFlows: 16,
      vnetHdrLen: 0,
      seed: 1,
      timeouts: defaultTimeouts,
    });
    if (natPolicy) nat.setPolicy(natPolicy);
    expect(send(nat, packet).verdict).toBe(Verdict.noPolicy);
    expect(counter(nat, 'drop_no_policy')).toBe(1);
    expect(nat.flowCount()).toBe(0);
  });
});

describe('no_flow', () => {
  it('drops replies, echo requests to the egress address and errors without a flow', () => {
    const nat = engine();
    expect(send(nat, udp(REMOTE, EGRESS, 53, 40000)).verdict).toBe(Verdict.noFlow);
    expect(send(nat, echo(REMOTE, EGRESS, 'request', 1)).verdict).toBe(Verdict.noFlow);
    expect(send(nat, echo(POD, REMOTE, 'reply', 1)).verdict).toBe(Verdict.noFlow);
    const error = buildIcmpErrorPacket(
      { src: ROUTER, dst: EGRESS },
      { error: { type: 'time-exceeded', code: 0 }, quoted: udp(EGRESS, REMOTE, 40000, 53) },
    );
    expect(send(nat, error).verdict).toBe(Verdict.noFlow);
    expect(counter(nat, 'drop_no_flow')).toBe(4);
  });

  it('treats a flow as gone once its expiry is reached, swept or not', () => {
    const nat = engine();
    send(nat, udp(POD, REMOTE, 40000, 53), 0);
    expect(send(nat, udp(REMOTE, EGRESS, 53, 40000), 119_999).verdict).toBe(Verdict.forward);
    // The reply refreshed the flow: 120 s from 119,999.
    expect(send(nat, udp(REMOTE, EGRESS, 53, 40000), 239_998).verdict).toBe(Verdict.forward);
    expect(send(nat, udp(REMOTE, EGRESS, 53, 40000), 239_998 + 120_000).verdict).toBe(
      Verdict.noFlow,
    );
    expect(nat.flowCount()).toBe(0);
  });

  it('uses the TCP state timeouts', () => {
    const nat = engine();
    send(nat, tcp(POD, REMOTE, 40000, 443, TcpFlag.syn), 0);
    send(nat, tcp(REMOTE, EGRESS, 443, 40000, TcpFlag.syn | TcpFlag.ack), 0);
    send(nat, tcp(POD, REMOTE, 40000, 443, TcpFlag.ack), 0);
    // Exported state bytes carry the flags: 0x08, a reply was seen.
    expect(nat.exportFlows(0)[0]).toMatchObject({
      state: FlowState.established | 0x08,
      remainingMs: 7_440_000,
    });
    send(nat, tcp(REMOTE, EGRESS, 443, 40000, TcpFlag.rst), 0);
    expect(nat.exportFlows(0)[0]).toMatchObject({
      state: FlowState.closed | 0x08,
      remainingMs: 10_000,
    });
    expect(send(nat, tcp(REMOTE, EGRESS, 443, 40000, TcpFlag.ack), 10_000).verdict).toBe(
      Verdict.noFlow,
    );
  });

  it('removes a flow whose rule moves to another address after setPolicy', () => {
    const nat = engine();
    send(nat, udp(POD, REMOTE, 40000, 53));
    send(nat, udp(POD_2, REMOTE, 40000, 53));
    nat.setPolicy(policy(EGRESS_2));
    expect(counter(nat, 'table_swaps')).toBe(2);
    // A reply to the old address finds the flow, rechecks it and drops both.
    expect(send(nat, udp(REMOTE, EGRESS, 53, 40000)).verdict).toBe(Verdict.noFlow);
    expect(counter(nat, 'flows_invalidated')).toBe(1);
    // An outbound packet of the other flow is handled as a miss: new flow, new address.
    expect(send(nat, udp(POD_2, REMOTE, 40000, 53)).out).toEqual(udp(EGRESS_2, REMOTE, 40000, 53));
    expect(counter(nat, 'flows_invalidated')).toBe(2);
    expect(nat.flowCount()).toBe(1);
  });

  it('keeps a flow whose rule still names its address after setPolicy', () => {
    const nat = engine();
    send(nat, udp(POD, REMOTE, 40000, 53));
    nat.setPolicy({
      ...policy(),
      rules: [
        ...policy().rules,
        { sources: [POD], destinations: ['203.0.113.0/24'], excluded: [], egressIP: EGRESS_2 },
      ],
    });
    expect(send(nat, udp(REMOTE, EGRESS, 53, 40000)).verdict).toBe(Verdict.forward);
    expect(counter(nat, 'flows_invalidated')).toBe(0);
  });

  it('drops an ICMP error about a flow that setPolicy moved', () => {
    const nat = engine();
    const sent = send(nat, udp(POD, REMOTE, 40000, 53)).out;
    nat.setPolicy({ ...policy(), rules: [] });
    const error = buildIcmpErrorPacket(
      { src: ROUTER, dst: EGRESS },
      { error: { type: 'time-exceeded', code: 0 }, quoted: sent },
    );
    expect(send(nat, error).verdict).toBe(Verdict.noFlow);
    expect(counter(nat, 'flows_invalidated')).toBe(1);
  });
});

describe('ports_exhausted', () => {
  it('drops a new endpoint when every port of the address is taken, but not a known one', () => {
    const nat = engine(undefined, policy(EGRESS, [6000, 6001]));
    expect(send(nat, udp(POD, REMOTE, 1, 53)).verdict).toBe(Verdict.forward);
    expect(send(nat, udp(POD, REMOTE, 2, 53)).verdict).toBe(Verdict.forward);
    expect(send(nat, udp(POD, REMOTE, 3, 53)).verdict).toBe(Verdict.portsExhausted);
    expect(send(nat, udp(POD, REMOTE_2, 1, 53)).verdict).toBe(Verdict.forward);
    expect(counter(nat, 'drop_ports_exhausted')).toBe(1);
  });
});

describe('flow table limits', () => {
  it('evicts to make room, closing flows first', () => {
    const nat = engine({ maxFlows: 4 });
    send(nat, tcp(POD, REMOTE, 1, 80, TcpFlag.syn));
    send(nat, tcp(POD, REMOTE, 2, 80, TcpFlag.syn));
    send(nat, tcp(POD, REMOTE, 3, 80, TcpFlag.rst));
    send(nat, tcp(POD, REMOTE, 4, 80, TcpFlag.syn));
    expect(send(nat, tcp(POD, REMOTE, 5, 80, TcpFlag.syn)).verdict).toBe(Verdict.forward);
    expect(nat.flowCount()).toBe(4);
    expect(counter(nat, 'flows_evicted')).toBe(1);
    expect(
      nat
        .exportFlows(1000)
        .map((flow) => flow.internalPort)
        .sort(),
    ).toEqual([1, 2, 4, 5]);
  });

  it('evicts the soonest to expire when every flow is replied and open', () => {
    const nat = engine({ maxFlows: 2 });
    send(nat, udp(POD, REMOTE, 40001, 53), 0);
    send(nat, udp(POD, REMOTE, 40002, 53), 10);
    send(nat, udp(REMOTE, EGRESS, 53, 40002), 20);
    send(nat, udp(REMOTE, EGRESS, 53, 40001), 30);
    send(nat, udp(POD, REMOTE, 40003, 53), 40);
    expect(nat.exportFlows(40).map((flow) => flow.internalPort)).toEqual([40001, 40003]);
  });
});

describe('setPolicy', () => {
  it('refuses what the table compiler refuses, with its code, and keeps the old policy', () => {
    const nat = engine();
    const unknown = { ...policy(), rules: [{ ...policy().rules[0]!, egressIP: '192.0.2.99' }] };
    expect(() => nat.setPolicy(unknown)).toThrow(
      expect.objectContaining({ code: 'EGW_UNKNOWN_EGRESS' }),
    );
    const badPorts = { ...policy(), egress: [{ ip: EGRESS, portMin: 0, portMax: 10 }] };
    expect(() => nat.setPolicy(badPorts)).toThrow(
      expect.objectContaining({ code: 'EGW_BAD_PORT_RANGE' }),
    );
    expect(send(nat, udp(POD, REMOTE, 40000, 53)).out).toEqual(udp(EGRESS, REMOTE, 40000, 53));
    expect(counter(nat, 'table_swaps')).toBe(1);
  });
});

describe('exportFlows and importFlows', () => {
  it('carries flows to another engine that then translates their replies', () => {
    const active = engine();
    send(active, tcp(POD, REMOTE, 40000, 443, TcpFlag.syn), 0);
    send(active, udp(POD, REMOTE, 5000, 53), 0);
    send(active, echo(POD, REMOTE, 'request', 9), 0);
    const records = active.exportFlows(5000);
    expect(records).toHaveLength(3);
    expect(records[0]).toEqual({
      proto: 6,
      internalIP: POD,
      internalPort: 40000,
      remoteIP: REMOTE,
      remotePort: 443,
      egressIP: EGRESS,
      egressPort: 40000,
      state: FlowState.synSent,
      remainingMs: 235_000,
    });
    const standby = engine();
    expect(standby.importFlows(records, 100_000)).toBe(3);
    expect(standby.flowCount()).toBe(3);
    expect(standby.exportFlows(100_000)).toEqual(records);
    expect(
      send(standby, tcp(REMOTE, EGRESS, 443, 40000, TcpFlag.syn | TcpFlag.ack), 100_000).out,
    ).toEqual(tcp(REMOTE, POD, 443, 40000, TcpFlag.syn | TcpFlag.ack));
    // The mapping came along: a new flow of the endpoint keeps its port.
    expect(send(standby, udp(POD, REMOTE_2, 5000, 53), 100_000).out).toEqual(
      udp(EGRESS, REMOTE_2, 5000, 53),
    );
    expect(counter(standby, 'flows_imported')).toBe(3);
    // Each imported endpoint's mapping counts as created (as the core counts it).
    expect(counter(standby, 'mappings_created')).toBe(3);
  });

  it('skips invalid and conflicting records', () => {
    const nat = engine({ maxFlows: 16 });
    send(nat, udp(POD, REMOTE, 5000, 53), 0);
    const base = nat.exportFlows(0)[0]!;
    const records = [
      { ...base, egressPort: 5001 }, // its tuple has another translation here
      { ...base, remoteIP: REMOTE_2, egressPort: 5001 }, // the endpoint's mapping has another port
      { ...base, internalIP: POD_2, remoteIP: REMOTE_2 }, // port 5000 belongs to another endpoint
      { ...base, proto: 47 },
      { ...base, internalIP: '10.0.0.300' },
      { ...base, remotePort: 70000 },
      { ...base, internalPort: 1.5 },
      { ...base, state: FlowState.synSent }, // not a UDP state
      { ...base, proto: 6, state: 0 },
      { ...base, remainingMs: 0 },
      { ...base, remainingMs: 2 ** 31 },
      { ...base, egressIP: '192.0.2.99' }, // not an egress address here
      { ...base, proto: 1, remotePort: 53 },
      { ...base, remoteIP: REMOTE_2 }, // fine: same mapping, new remote
      { ...base, internalPort: 5001, egressPort: 5001 }, // fine: a new endpoint
    ];
    expect(nat.importFlows(records, 0)).toBe(2);
    expect(counter(nat, 'flows_imported')).toBe(2);
    expect(counter(nat, 'flows_import_skipped')).toBe(13);
    expect(nat.flowCount()).toBe(3);
  });

  it('refreshes a flow that is sent again', () => {
    const nat = engine();
    send(nat, tcp(POD, REMOTE, 40000, 443, TcpFlag.syn), 0);
    const [record] = nat.exportFlows(0);
    const again = { ...record!, state: FlowState.established, remainingMs: 7_000_000 };
    expect(nat.importFlows([again], 1000)).toBe(1);
    expect(nat.flowCount()).toBe(1);
    expect(nat.exportFlows(1000)).toEqual([again]);
    expect(counter(nat, 'mappings_created')).toBe(1);
  });

  it('evicts to make room for an imported flow, as for any new flow', () => {
    const active = engine();
    send(active, udp(POD, REMOTE, 40001, 53), 0);
    const standby = engine({ maxFlows: 1 });
    send(standby, tcp(POD_2, REMOTE, 40000, 443, TcpFlag.rst), 0);
    expect(standby.importFlows(active.exportFlows(0), 0)).toBe(1);
    expect(counter(standby, 'flows_evicted')).toBe(1);
    expect(standby.exportFlows(0).map((flow) => flow.internalPort)).toEqual([40001]);
  });

  it('rechecks imported flows against the local policy on their next packet', () => {
    const active = engine();
    send(active, udp(POD, REMOTE, 5000, 53), 0);
    const standby = engine(undefined, policy(EGRESS_2));
    expect(standby.importFlows(active.exportFlows(0), 0)).toBe(1);
    expect(send(standby, udp(REMOTE, EGRESS, 53, 5000), 0).verdict).toBe(Verdict.noFlow);
    expect(counter(standby, 'flows_invalidated')).toBe(1);
  });
});

describe('counters', () => {
  it('account for every packet: rx = forwarded + drops + held', () => {
    const nat = engine();
    const [first, second] = fragmentDatagram(udp(POD, REMOTE, 1, 2), 8);
    const batch = [
      udp(POD, REMOTE, 1, 2),
      second!,
      udp(REMOTE, EGRESS, 9, 9),
      new Uint8Array(3),
      udp(POD, '10.2.0.1', 1, 2),
    ];
    nat.process(batch, 0);
    nat.process([first!], 1);
    const c = nat.counters();
    expect(c['rx_packets']).toBe(6n);
    expect(c['rx_bytes']).toBe(BigInt([...batch, first!].reduce((sum, p) => sum + p.length, 0)));
    const drops = [
      'drop_malformed',
      'drop_unsupported',
      'drop_no_policy',
      'drop_no_flow',
      'drop_ports_exhausted',
      'drop_fragment',
    ];
    const total =
      c['forwarded_packets']! +
      drops.reduce((sum, name) => sum + c[name]!, 0n) +
      c['fragments_held']!;
    expect(total).toBe(c['rx_packets']);
    expect(c['forwarded_packets']).toBe(2n);
    expect(c['fragments_released']).toBe(1n);
  });
});
