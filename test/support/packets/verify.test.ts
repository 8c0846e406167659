import { describe, expect, it } from 'vitest';
import {
  buildGsoTcpPacket,
  buildIcmpErrorPacket,
  buildTcpPacket,
  buildUdpPacket,
  buildVnetHeader,
  checksumProblems,
  finishChecksum,
  fragmentDatagram,
  parseVnetHeader,
  readU16,
  TcpFlag,
  toNeedsCsum,
  VNET_F_NEEDS_CSUM,
  VnetGso,
  withVnetHeader,
} from './index.ts';

const hex = (text: string) => Uint8Array.from(text.match(/../g)!.map((byte) => parseInt(byte, 16)));
const ip = { src: '10.1.0.5', dst: '93.184.216.34', id: 0x1c46 };
const tcp = buildTcpPacket(ip, {
  srcPort: 33000,
  dstPort: 80,
  seq: 1,
  ack: 2,
  flags: TcpFlag.ack | TcpFlag.psh,
  payload: new TextEncoder().encode('GET / HTTP/1.1\r\n\r\n'),
});
const udp = buildUdpPacket(ip, { srcPort: 5353, dstPort: 53, payload: Uint8Array.of(1, 2, 3) });

describe('virtio_net_hdr', () => {
  it('encodes little-endian fields in the 10- and 12-byte forms', () => {
    const header = {
      flags: VNET_F_NEEDS_CSUM,
      gsoType: VnetGso.tcpv4,
      hdrLen: 0x0036,
      gsoSize: 0x05a8,
      csumStart: 0x0014,
      csumOffset: 0x0010,
      numBuffers: 1,
    };
    expect(buildVnetHeader(header, 10)).toEqual(hex('01013600a80514001000'));
    expect(buildVnetHeader(header, 12)).toEqual(hex('01013600a805140010000100'));
    expect(parseVnetHeader(buildVnetHeader(header, 12), 12)).toEqual(header);
    expect(parseVnetHeader(buildVnetHeader(header, 10), 10)).toEqual({ ...header, numBuffers: 0 });
  });

  it('puts the pseudo-header sum, not a checksum, into NEEDS_CSUM packets', () => {
    const slot = toNeedsCsum(tcp, 10);
    const header = parseVnetHeader(slot, 10);
    expect(header).toMatchObject({ flags: VNET_F_NEEDS_CSUM, csumStart: 20, csumOffset: 16 });
    // 0a01+0005+5db8+d822+0006+length 38 (0x26), folded: not the complement of anything.
    expect(readU16(slot, 10 + 36)).toBe(
      0x0a01 + 0x0005 + 0x5db8 + 0xd822 + 0x0006 + 0x0026 - 0xffff,
    );
    // The device finishes it into exactly the full checksum.
    expect(finishChecksum(slot, 10)).toEqual(tcp);
    expect(finishChecksum(toNeedsCsum(udp, 12), 12)).toEqual(udp);
  });

  it('builds GSO TCP super-packets with their segmentation fields', () => {
    const slot = buildGsoTcpPacket(
      ip,
      { srcPort: 1, dstPort: 2, flags: TcpFlag.ack, payload: new Uint8Array(60000).fill(0x5a) },
      1448,
      12,
    );
    expect(parseVnetHeader(slot, 12)).toMatchObject({
      flags: VNET_F_NEEDS_CSUM,
      gsoType: VnetGso.tcpv4,
      gsoSize: 1448,
      hdrLen: 40,
      csumStart: 20,
      csumOffset: 16,
    });
    expect(slot.length).toBe(12 + 60040);
    expect(checksumProblems(slot, 12)).toEqual([]);
  });
});

describe('checksumProblems', () => {
  it('accepts correct packets of every kind', () => {
    expect(checksumProblems(tcp)).toEqual([]);
    expect(checksumProblems(udp)).toEqual([]);
    expect(checksumProblems(withVnetHeader(udp, 10), 10)).toEqual([]);
    expect(checksumProblems(toNeedsCsum(tcp, 10), 10)).toEqual([]);
  });

  it('accepts a UDP checksum of zero (none, RFC 768)', () => {
    expect(checksumProblems(buildUdpPacket(ip, { srcPort: 1, dstPort: 2, checksum: 0 }))).toEqual(
      [],
    );
  });

  it('finds a flipped bit in each part', () => {
    for (const [packet, offset, problem] of [
      [tcp, 12, 'ipv4 header checksum'],
      [tcp, 25, 'tcp checksum'],
      [udp, 30, 'udp checksum'],
    ] as const) {
      const broken = packet.slice();
      broken[offset]! ^= 0x10;
      expect(checksumProblems(broken)).toContain(problem);
    }
  });

  it('finds a NEEDS_CSUM field that holds a finished checksum instead of the pseudo sum', () => {
    expect(
      checksumProblems(
        withVnetHeader(tcp, 10, { flags: VNET_F_NEEDS_CSUM, csumStart: 20, csumOffset: 16 }),
        10,
      ),
    ).toEqual(['tcp checksum']);
  });

  it('checks the quote of an ICMP error: inner header always, inner L4 when whole', () => {
    const error = (quoted: Uint8Array, quoteLength: 'minimum' | 'linux') =>
      buildIcmpErrorPacket(
        { src: '192.0.2.1', dst: '10.1.0.5' },
        { error: { type: 'destination-unreachable', code: 3 }, quoted, quoteLength },
      );
    expect(checksumProblems(error(udp, 'linux'))).toEqual([]);
    const badInnerUdp = udp.slice();
    badInnerUdp[30]! ^= 1;
    expect(checksumProblems(error(badInnerUdp, 'linux'))).toEqual(['inner udp checksum']);
    // A minimal quote holds only 8 bytes of TCP: its checksum cannot be checked.
    const badInnerTcp = tcp.slice();
    badInnerTcp[50]! ^= 1;
    expect(checksumProblems(error(badInnerTcp, 'minimum'))).toEqual([]);
    const badInnerHeader = tcp.slice();
    badInnerHeader[8]! ^= 1;
    expect(checksumProblems(error(badInnerHeader, 'minimum'))).toEqual([
      'inner ipv4 header checksum',
    ]);
  });

  it('checks only the IPv4 header of fragments', () => {
    const fragments = fragmentDatagram(udp, 8);
    expect(fragments.length).toBe(2);
    for (const fragment of fragments) expect(checksumProblems(fragment)).toEqual([]);
  });
});
