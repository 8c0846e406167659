import { describe, expect, it } from 'vitest';
import {
  decodeVnetHeader,
  encodeVnetHeader,
  gsoTypeName,
  needsChecksum,
  noOffloadHeader,
  VNET_HDR_LEN,
} from './vnet-header.ts';

// A TCP super-packet's header as Linux hands it to a TUN with TSO: NEEDS_CSUM,
// GSO_TCPV4, hdr_len 66 (IPv4 20 + TCP 32 + 14 the kernel counts), gso_size 1448,
// csum_start 20 (after the IPv4 header), csum_offset 16 (TCP checksum field).
const tcpGso = Uint8Array.of(0x01, 0x01, 0x42, 0x00, 0xa8, 0x05, 0x14, 0x00, 0x10, 0x00);

describe('virtio_net_hdr', () => {
  it('takes apart a TCPv4 GSO header', () => {
    const header = decodeVnetHeader(tcpGso);
    expect(header).toEqual({
      flags: 1,
      gsoType: 1,
      ecn: false,
      hdrLen: 66,
      gsoSize: 1448,
      csumStart: 20,
      csumOffset: 16,
    });
    expect(needsChecksum(header)).toBe(true);
    expect(gsoTypeName(header.gsoType)).toBe('tcpv4');
  });

  it('round-trips, ECN bit included', () => {
    const bytes = new Uint8Array(2 + VNET_HDR_LEN + 2);
    const header = { ...decodeVnetHeader(tcpGso), ecn: true };
    encodeVnetHeader(header, bytes, 2);
    expect(bytes[2 + 1]).toBe(0x81);
    expect(decodeVnetHeader(bytes, 2)).toEqual(header);
    expect(bytes[0]).toBe(0);
    expect(bytes[2 + VNET_HDR_LEN]).toBe(0);
  });

  it('encodes the no-offload header as ten zero bytes', () => {
    const bytes = new Uint8Array(VNET_HDR_LEN).fill(0xee);
    encodeVnetHeader(noOffloadHeader, bytes);
    expect([...bytes]).toEqual(new Array(VNET_HDR_LEN).fill(0));
  });

  it('names USO and unknown GSO types', () => {
    expect(gsoTypeName(5)).toBe('udp_l4');
    expect(gsoTypeName(0x84)).toBe('tcpv6');
    expect(gsoTypeName(9)).toBe('gso_9');
  });

  it('refuses a short buffer', () => {
    expect(() => decodeVnetHeader(tcpGso.subarray(0, 9))).toThrow(RangeError);
    expect(() => decodeVnetHeader(tcpGso, 1)).toThrow(RangeError);
    expect(() => encodeVnetHeader(noOffloadHeader, new Uint8Array(12), 3)).toThrow(RangeError);
  });
});
