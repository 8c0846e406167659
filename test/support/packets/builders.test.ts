import { describe, expect, it } from 'vitest';
import {
  buildEchoPacket,
  buildIcmpEcho,
  buildIcmpError,
  buildIpv4,
  buildTcp,
  buildTcpPacket,
  buildUdp,
  copiedOptions,
  fragmentDatagram,
  ipToU32,
  ipv4Payload,
  mssAndSackOptions,
  PacketBuildError,
  parseIcmp,
  parseIpv4,
  parseTcp,
  parseUdp,
  TcpFlag,
  UnreachableCode,
  u32ToIp,
} from './index.ts';

const hex = (text: string) => Uint8Array.from(text.match(/../g)!.map((byte) => parseInt(byte, 16)));

describe('IPv4', () => {
  // The header from Wikipedia's "IPv4 header checksum" example: a UDP packet
  // 192.168.0.1 -> 192.168.0.199, total length 115, DF, TTL 64, checksum 0xb861.
  const header = hex('450000730000400040 11b861c0a80001c0a800c7'.replace(' ', ''));

  it('builds a known header byte for byte', () => {
    const packet = buildIpv4(
      { src: '192.168.0.1', dst: '192.168.0.199', protocol: 17, dontFragment: true, ttl: 64 },
      new Uint8Array(95),
    );
    expect(packet.subarray(0, 20)).toEqual(header);
  });

  it('parses the known header', () => {
    const parsed = parseIpv4(header);
    expect(parsed).toMatchObject({
      version: 4,
      headerLength: 20,
      totalLength: 115,
      dontFragment: true,
      moreFragments: false,
      fragmentOffset: 0,
      ttl: 64,
      protocol: 17,
      headerChecksum: 0xb861,
      src: '192.168.0.1',
      dst: '192.168.0.199',
    });
  });

  it('round-trips options, fragment fields and overrides', () => {
    const options = Uint8Array.of(0x94, 0x04, 0x00, 0x00); // Router Alert, copied
    const packet = buildIpv4(
      {
        src: '10.0.0.1',
        dst: '10.0.0.2',
        protocol: 6,
        id: 0xbeef,
        ttl: 3,
        tos: 0x10,
        moreFragments: true,
        fragmentOffset: 1480,
        options,
      },
      Uint8Array.of(1, 2, 3),
    );
    const parsed = parseIpv4(packet);
    expect(parsed).toMatchObject({
      headerLength: 24,
      totalLength: 27,
      id: 0xbeef,
      ttl: 3,
      tos: 0x10,
      moreFragments: true,
      fragmentOffset: 1480,
    });
    expect(parsed.options).toEqual(options);
    expect(ipv4Payload(packet)).toEqual(Uint8Array.of(1, 2, 3));
    const broken = buildIpv4(
      { src: '1.2.3.4', dst: '5.6.7.8', protocol: 17, totalLength: 9, headerChecksum: 0x1234 },
      new Uint8Array(0),
    );
    expect(parseIpv4(broken)).toMatchObject({ totalLength: 9, headerChecksum: 0x1234 });
  });

  it('rejects what it cannot build or parse, with a code', () => {
    expect(() =>
      buildIpv4(
        { src: '1.2.3.4', dst: '5.6.7.8', protocol: 1, fragmentOffset: 3 },
        new Uint8Array(0),
      ),
    ).toThrow(PacketBuildError);
    expect(() => parseIpv4(new Uint8Array(19))).toThrow(
      expect.objectContaining({ code: 'SHORT_PACKET' }),
    );
    expect(() => ipToU32('10.0.0.256')).toThrow(expect.objectContaining({ code: 'BAD_ADDRESS' }));
    expect(u32ToIp(ipToU32('10.20.30.40'))).toBe('10.20.30.40');
  });
});

describe('TCP', () => {
  // smoltcp src/wire/tcp.rs test vector: 192.168.1.1 -> 192.168.1.2, FIN|RST|ACK|URG.
  const segment = hex('bf00005001234567' + '89abcdef50350123' + '20be0201aa0000ff');

  it('builds a known segment byte for byte', () => {
    const built = buildTcp('192.168.1.1', '192.168.1.2', {
      srcPort: 48896,
      dstPort: 80,
      seq: 0x01234567,
      ack: 0x89abcdef,
      flags: TcpFlag.fin | TcpFlag.rst | TcpFlag.ack | TcpFlag.urg,
      window: 0x0123,
      urgentPointer: 0x0201,
      payload: Uint8Array.of(0xaa, 0x00, 0x00, 0xff),
    });
    expect(built).toEqual(segment);
  });

  it('parses options and payload', () => {
    const built = buildTcp('10.0.0.1', '10.0.0.2', {
      srcPort: 1,
      dstPort: 2,
      flags: TcpFlag.syn,
      options: mssAndSackOptions(1460),
      payload: Uint8Array.of(9),
    });
    const parsed = parseTcp(built);
    expect(parsed).toMatchObject({ dataOffset: 28, flags: TcpFlag.syn, payload: Uint8Array.of(9) });
    expect(parsed.options).toEqual(Uint8Array.of(2, 4, 0x05, 0xb4, 1, 1, 4, 2));
  });
});

describe('UDP', () => {
  // smoltcp src/wire/udp.rs test vector: 192.168.1.1 -> 192.168.1.2, port 48896 -> 53.
  it('builds a known datagram byte for byte', () => {
    const built = buildUdp('192.168.1.1', '192.168.1.2', {
      srcPort: 48896,
      dstPort: 53,
      payload: Uint8Array.of(0xaa, 0x00, 0x00, 0xff),
    });
    expect(built).toEqual(hex('bf000035000c124daa0000ff'));
    expect(parseUdp(built)).toMatchObject({
      srcPort: 48896,
      dstPort: 53,
      length: 12,
      checksum: 0x124d,
    });
  });

  it('keeps a given zero checksum', () => {
    expect(
      parseUdp(buildUdp('1.1.1.1', '2.2.2.2', { srcPort: 1, dstPort: 2, checksum: 0 })).checksum,
    ).toBe(0);
  });
});

describe('ICMP', () => {
  // smoltcp src/wire/icmpv4.rs test vector: echo request id 0x1234 seq 0xabcd.
  it('builds a known echo request byte for byte', () => {
    const built = buildIcmpEcho({
      type: 'request',
      id: 0x1234,
      sequence: 0xabcd,
      payload: Uint8Array.of(0xaa, 0x00, 0x00, 0xff),
    });
    expect(built).toEqual(hex('08008efe1234abcdaa0000ff'));
  });

  const quoted = buildTcpPacket(
    { src: '203.0.113.1', dst: '198.51.100.7', id: 7 },
    { srcPort: 40000, dstPort: 443, flags: TcpFlag.ack, payload: new Uint8Array(100).fill(7) },
  );

  it('quotes the header and 8 bytes by default, as much as fits 576 bytes for linux', () => {
    const minimum = parseIcmp(
      buildIcmpError({ error: { type: 'time-exceeded', code: 0 }, quoted }),
    );
    expect(minimum).toMatchObject({ type: 11, code: 0 });
    expect(minimum.body).toEqual(quoted.subarray(0, 28));
    const linux = parseIcmp(
      buildIcmpError({
        error: { type: 'parameter-problem', pointer: 9 },
        quoted,
        quoteLength: 'linux',
      }),
    );
    expect(linux.body).toEqual(quoted);
    expect(linux.restOfHeader).toEqual(Uint8Array.of(9, 0, 0, 0));
  });

  it('carries the next-hop MTU of fragmentation needed (RFC 1191)', () => {
    const message = parseIcmp(
      buildIcmpError({
        error: {
          type: 'destination-unreachable',
          code: UnreachableCode.fragmentationNeeded,
          nextHopMtu: 1400,
        },
        quoted,
        quoteLength: 40,
      }),
    );
    expect(message).toMatchObject({ type: 3, code: 4 });
    expect(message.restOfHeader).toEqual(Uint8Array.of(0, 0, 0x05, 0x78));
    expect(message.body.length).toBe(40);
    expect(() =>
      buildIcmpError({
        error: { type: 'destination-unreachable', code: 3, nextHopMtu: 1 },
        quoted,
      }),
    ).toThrow(expect.objectContaining({ code: 'BAD_ICMP' }));
  });

  it('wraps echo messages in IPv4', () => {
    const packet = buildEchoPacket({ src: '10.0.0.1', dst: '10.0.0.2' }, { type: 'reply', id: 5 });
    expect(parseIpv4(packet).protocol).toBe(1);
    expect(parseIcmp(ipv4Payload(packet))).toMatchObject({
      type: 0,
      restOfHeader: Uint8Array.of(0, 5, 0, 0),
    });
  });
});

describe('fragmentDatagram', () => {
  const options = Uint8Array.of(0x94, 0x04, 0x00, 0x00, 0x07, 0x03, 0x04, 0x00); // RA (copied) + RR (not)
  const datagram = buildIpv4(
    { src: '10.0.0.1', dst: '10.0.0.2', protocol: 17, id: 42, options },
    Uint8Array.from({ length: 100 }, (_, i) => i),
  );

  it('cuts 8-byte multiples with MF on all but the last and keeps the data', () => {
    const fragments = fragmentDatagram(datagram, 30);
    expect(fragments.map((f) => parseIpv4(f).fragmentOffset)).toEqual([0, 24, 48, 72, 96]);
    expect(fragments.map((f) => parseIpv4(f).moreFragments)).toEqual([
      true,
      true,
      true,
      true,
      false,
    ]);
    expect(fragments.every((f) => parseIpv4(f).id === 42)).toBe(true);
    const data = fragments.flatMap((f) => [...ipv4Payload(f)]);
    expect(Uint8Array.from(data)).toEqual(ipv4Payload(datagram));
  });

  it('copies only options with the copied flag into later fragments', () => {
    const [first, second] = fragmentDatagram(datagram, 64);
    expect(parseIpv4(first!).options).toEqual(options);
    expect(parseIpv4(second!).options).toEqual(Uint8Array.of(0x94, 0x04, 0x00, 0x00));
    expect(copiedOptions(Uint8Array.of(1, 0x83, 3, 9, 0))).toEqual(Uint8Array.of(0x83, 3, 9));
  });

  it('refuses pieces smaller than 8 bytes', () => {
    expect(() => fragmentDatagram(datagram, 7)).toThrow(
      expect.objectContaining({ code: 'BAD_FRAGMENT_SIZE' }),
    );
  });
});
