import { describe, expect, it } from 'vitest';
import {
  ARP_FRAME_LEN,
  ARP_REPLY,
  ARP_REQUEST,
  buildArpFrame,
  macToBytes,
  parseArpFrame,
} from './frame.ts';

// who-has 10.79.0.100 tell 10.79.0.2, from 02:00:00:00:00:02, broadcast.
const request = Uint8Array.from(
  [
    'ff ff ff ff ff ff 02 00 00 00 00 02 08 06',
    '00 01 08 00 06 04 00 01',
    '02 00 00 00 00 02 0a 4f 00 02',
    '00 00 00 00 00 00 0a 4f 00 64',
  ]
    .join(' ')
    .split(' '),
  (h) => Number.parseInt(h, 16),
);

const parsed = {
  ethDestination: 'ff:ff:ff:ff:ff:ff',
  ethSource: '02:00:00:00:00:02',
  operation: ARP_REQUEST,
  senderMac: '02:00:00:00:00:02',
  senderIp: '10.79.0.2',
  targetMac: '00:00:00:00:00:00',
  targetIp: '10.79.0.100',
};

describe('ARP frames', () => {
  it('takes apart a request', () => {
    expect(request.byteLength).toBe(ARP_FRAME_LEN);
    expect(parseArpFrame(request)).toEqual(parsed);
  });

  it('builds the same bytes back', () => {
    expect([...buildArpFrame(parsed)]).toEqual([...request]);
  });

  it('round-trips a reply, and reads a frame padded to the Ethernet minimum', () => {
    const reply = { ...parsed, operation: ARP_REPLY, targetMac: '0a:1b:2c:3d:4e:5f' };
    const padded = new Uint8Array(60);
    padded.set(buildArpFrame(reply));
    expect(parseArpFrame(padded)).toEqual(reply);
    expect(parseArpFrame(padded, ARP_FRAME_LEN)).toEqual(reply);
  });

  it.each([
    ['truncated', request.subarray(0, 41)],
    ['not ARP (IPv4 ethertype)', patch(12, 0x08, 0x00)],
    ['not Ethernet hardware', patch(14, 0x00, 0x06)],
    ['not IPv4 protocol', patch(16, 0x86, 0xdd)],
    ['wrong address lengths', patch(18, 0x06, 0x10)],
  ])('refuses a frame that is %s', (_name, frame) => {
    expect(parseArpFrame(frame)).toBeNull();
  });

  it('refuses a length past the buffer', () => {
    expect(parseArpFrame(request, 60)).toBeNull();
  });

  it('refuses bad addresses when building', () => {
    expect(() => buildArpFrame({ ...parsed, senderIp: '10.79.0.256' })).toThrow(
      expect.objectContaining({ code: 'EGW_BAD_IP' }),
    );
    expect(() => macToBytes('02:00:00:00:00')).toThrow(RangeError);
    expect(() => macToBytes('02:00:00:00:00:zz')).toThrow(RangeError);
  });
});

function patch(offset: number, a: number, b: number): Uint8Array {
  const copy = request.slice();
  copy[offset] = a;
  copy[offset + 1] = b;
  return copy;
}
