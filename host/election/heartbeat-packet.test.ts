import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isElectionError } from './errors.ts';
import {
  decodeHeartbeat,
  encodeHeartbeat,
  type HeartbeatPacket,
  MAC_LEN,
  type PacketDropReason,
} from './heartbeat-packet.ts';

const secret = Buffer.from('test-secret');

// The MAC was computed independently: `xxd -r -p | openssl dgst -sha256 -hmac test-secret`.
const fixture = Buffer.from(
  [
    '45474842', // magic "EGHB"
    '01 00 0000', // version 1, flags 0, reserved
    '0000000102030405', // incarnation 0x0102030405
    '00000007', // sequence 7
    '04 67772d61', // "gw-a"
    '0001 000f 456772657373476174657761792f78', // one claim: "EgressGateway/x"
    '0001 04 67772d62 01', // view: gw-b alive
    'ab5896dbaeab7d943806bae6f8094b72284544365ff144105d6772c893c9f549', // HMAC-SHA256
  ]
    .join('')
    .replaceAll(' ', ''),
  'hex',
);

const fixturePacket: HeartbeatPacket = {
  node: 'gw-a',
  incarnation: 0x0102030405,
  sequence: 7,
  leaving: false,
  eligible: true,
  claims: ['EgressGateway/x'],
  view: [{ node: 'gw-b', state: 'alive' }],
};

function dropReason(bytes: Buffer, key: Uint8Array = secret): PacketDropReason | null {
  const result = decodeHeartbeat(bytes, key);
  return result.ok ? null : result.reason;
}

/** `body` followed by its MAC: authenticated, whatever it contains. */
function sealed(body: Buffer): Buffer {
  return Buffer.concat([body, createHmac('sha256', secret).update(body).digest()]);
}

/** The fixture with `bytes` written at `at`, sealed again. */
function patched(at: number, bytes: number[]): Buffer {
  const body = Buffer.from(fixture.subarray(0, fixture.length - MAC_LEN));
  Buffer.from(bytes).copy(body, at);
  return sealed(body);
}

describe('heartbeat packet', () => {
  it('takes the fixture apart', () => {
    expect(decodeHeartbeat(fixture, secret)).toEqual({ ok: true, packet: fixturePacket });
  });

  it('builds the fixture byte for byte', () => {
    expect(encodeHeartbeat(fixturePacket, secret).toString('hex')).toBe(fixture.toString('hex'));
  });

  it('round-trips leaving, UTF-8 keys, empty lists and every view state', () => {
    const packet: HeartbeatPacket = {
      node: 'node-1.example',
      incarnation: Number.MAX_SAFE_INTEGER,
      sequence: 0xffffffff,
      leaving: true,
      eligible: false,
      claims: ['Egress/é-ü', 'EgressGateway/b'],
      view: [
        { node: 'a', state: 'unknown' },
        { node: 'b', state: 'alive' },
        { node: 'c', state: 'dead' },
      ],
    };
    expect(decodeHeartbeat(encodeHeartbeat(packet, secret), secret)).toEqual({ ok: true, packet });
    const empty = { ...packet, claims: [], view: [] };
    expect(decodeHeartbeat(encodeHeartbeat(empty, secret), secret)).toEqual({
      ok: true,
      packet: empty,
    });
  });

  it('maps the flag bits: leaving is bit 0, ineligible is bit 1', () => {
    const flags = (leaving: boolean, eligible: boolean): number =>
      encodeHeartbeat({ ...fixturePacket, leaving, eligible }, secret).readUInt8(5);
    expect([
      flags(false, true),
      flags(true, true),
      flags(false, false),
      flags(true, false),
    ]).toEqual([0, 1, 2, 3]);
  });

  it('drops datagrams too short to hold a header and a MAC', () => {
    expect(dropReason(Buffer.alloc(0))).toBe('short');
    expect(dropReason(fixture.subarray(0, 40))).toBe('short');
  });

  it('drops a wrong magic and an unknown version before computing the MAC', () => {
    const magic = Buffer.from(fixture);
    magic[0] = 0x46;
    expect(dropReason(magic)).toBe('bad_magic');
    const version = Buffer.from(fixture);
    version[4] = 2;
    expect(dropReason(version)).toBe('bad_version');
  });

  it('drops a packet sealed with another secret or changed in flight', () => {
    expect(dropReason(fixture, Buffer.from('other-secret'))).toBe('bad_mac');
    const flipped = Buffer.from(fixture);
    flipped.writeUInt8(flipped.readUInt8(19) ^ 0x01, 19); // sequence 7 -> 6
    expect(dropReason(flipped)).toBe('bad_mac');
    expect(dropReason(fixture.subarray(0, fixture.length - 1))).toBe('bad_mac');
  });

  it('drops authenticated but malformed contents', () => {
    const body = fixture.subarray(0, fixture.length - MAC_LEN);
    // Claim length runs past the end.
    expect(dropReason(patched(27, [0x00, 0xff]))).toBe('malformed');
    // View state 3 does not exist.
    expect(dropReason(patched(body.length - 1, [3]))).toBe('malformed');
    // Upper-case node names are not Kubernetes node names ('G' for 'g').
    expect(dropReason(patched(21, [0x47]))).toBe('malformed');
    // Trailing bytes after the view.
    expect(dropReason(sealed(Buffer.concat([body, Buffer.from([0])])))).toBe('malformed');
    // Incarnation beyond 2^53.
    expect(dropReason(patched(8, [0xff]))).toBe('malformed');
  });

  it('refuses to encode invalid names and oversized packets with coded errors', () => {
    const codes: unknown[] = [];
    for (const packet of [
      { ...fixturePacket, node: 'Bad_Name' },
      { ...fixturePacket, sequence: -1 },
      { ...fixturePacket, claims: [`EgressGateway/${'x'.repeat(70_000)}`] },
      { ...fixturePacket, claims: Array.from({ length: 6000 }, (_, i) => `EgressGateway/g${i}`) },
    ]) {
      try {
        encodeHeartbeat(packet, secret);
        codes.push('no error');
      } catch (error) {
        codes.push(isElectionError(error) ? error.code : error);
      }
    }
    expect(codes).toEqual([
      'EGW_ELECTION_CONFIG',
      'EGW_ELECTION_CONFIG',
      'EGW_HEARTBEAT_TOO_LARGE',
      'EGW_HEARTBEAT_TOO_LARGE',
    ]);
  });
});
