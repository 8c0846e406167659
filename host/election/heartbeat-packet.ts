import { createHmac, timingSafeEqual } from 'node:crypto';
import { ElectionError } from './errors.ts';

/**
 * The heartbeat datagram that the agents of a gateway group send each other.
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                     magic "EGHB" (0x45474842)                 |
 * +---------------+---------------+-------------------------------+
 * |  version (1)  |     flags     |          reserved (0)         |
 * +---------------+---------------+-------------------------------+
 * |                   incarnation (u64, big-endian)               |
 * |                                                               |
 * +---------------------------------------------------------------+
 * |                     sequence (u32, big-endian)                |
 * +---------------+-----------------------------------------------+
 * | name length   |  node name (ASCII) ...                        |
 * +---------------+---------------+-------------------------------+
 * |  claim count (u16)            |  per claim: length (u16), group key (UTF-8)
 * +-------------------------------+-------------------------------+
 * |  view count (u16)             |  per peer: name length (u8), name, state (u8)
 * +-------------------------------+-------------------------------+
 * |              HMAC-SHA256 over every byte before it (32)       |
 * +---------------------------------------------------------------+
 *
 * The MAC is checked before any field after the fixed header is read, so a stray or
 * forged datagram costs one HMAC and nothing else. It authenticates the sender as a
 * holder of the shared secret; replays are handled by the receiver's incarnation and
 * sequence checks (peer-liveness.ts), which is enough for liveness, not for secrecy.
 */

export const MAGIC = 0x45474842;
export const VERSION = 1;
export const FIXED_HEADER_LEN = 20;
export const MAC_LEN = 32;
/** The largest UDP payload over IPv4 (65535 - 20 - 8). */
export const MAX_PACKET_LEN = 65_507;

/** flags bit 0: the sender is shutting down on purpose; peers may mark it dead at once. */
export const FLAG_LEAVING = 0x01;
/**
 * flags bit 1: the sender cannot take new roles now (with Kubernetes: its Lease store
 * calls fail), so the shared choice must not name it for a group without a live holder
 * even though it is alive; a role it holds stays pinned to it (elector.ts). A set bit
 * rather than an "eligible" bit keeps the all-zero flags byte meaning "nothing special".
 */
export const FLAG_INELIGIBLE = 0x02;

const MAGIC_OFFSET = 0;
const VERSION_OFFSET = 4;
const FLAGS_OFFSET = 5;
const INCARNATION_OFFSET = 8;
const SEQUENCE_OFFSET = 16;

export type ViewState = 'unknown' | 'alive' | 'dead';
const viewStateCodes: Record<ViewState, number> = { unknown: 0, alive: 1, dead: 2 };
const viewStatesByCode: readonly ViewState[] = ['unknown', 'alive', 'dead'];

export interface HeartbeatPacket {
  node: string;
  /** Identifies one run of the sender's agent; a new value means it restarted. */
  incarnation: number;
  /** Counts the sender's heartbeats within one incarnation, from 1. */
  sequence: number;
  leaving: boolean;
  /** False when the sender cannot take roles now (FLAG_INELIGIBLE). */
  eligible: boolean;
  /** Group keys the sender believes it is active for, sorted. */
  claims: string[];
  /** The sender's view of its own peers. */
  view: { node: string; state: ViewState }[];
}

/** Why a received datagram was ignored: the log field, the test oracle and the metric label. */
export type PacketDropReason = 'short' | 'bad_magic' | 'bad_version' | 'bad_mac' | 'malformed';

export type DecodeResult =
  | { ok: true; packet: HeartbeatPacket }
  | { ok: false; reason: PacketDropReason };

/** Node names are Kubernetes node names: DNS subdomains, ASCII, at most 253 bytes. */
const NODE_NAME = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/;

export function isValidNodeName(name: string): boolean {
  return NODE_NAME.test(name);
}

function mac(secret: Uint8Array, bytes: Uint8Array): Buffer {
  return createHmac('sha256', secret).update(bytes).digest();
}

export function encodeHeartbeat(packet: HeartbeatPacket, secret: Uint8Array): Buffer {
  const names = [packet.node, ...packet.view.map((peer) => peer.node)];
  for (const name of names) {
    if (!isValidNodeName(name)) {
      throw new ElectionError('EGW_ELECTION_CONFIG', `invalid node name ${JSON.stringify(name)}`);
    }
  }
  if (!Number.isSafeInteger(packet.incarnation) || packet.incarnation < 0) {
    throw new ElectionError('EGW_ELECTION_CONFIG', `invalid incarnation ${packet.incarnation}`);
  }
  if (!Number.isInteger(packet.sequence) || packet.sequence < 0 || packet.sequence > 0xffffffff) {
    throw new ElectionError('EGW_ELECTION_CONFIG', `invalid sequence ${packet.sequence}`);
  }
  const claims = packet.claims.map((key) => Buffer.from(key, 'utf8'));
  if (claims.length > 0xffff || packet.view.length > 0xffff) {
    throw new ElectionError('EGW_HEARTBEAT_TOO_LARGE', 'too many claims or peers for a heartbeat');
  }
  let length = FIXED_HEADER_LEN + 1 + packet.node.length + 2 + 2 + MAC_LEN;
  for (const key of claims) {
    if (key.length > 0xffff) {
      throw new ElectionError('EGW_HEARTBEAT_TOO_LARGE', 'group key longer than 65535 bytes');
    }
    length += 2 + key.length;
  }
  for (const peer of packet.view) length += 1 + peer.node.length + 1;
  if (length > MAX_PACKET_LEN) {
    throw new ElectionError(
      'EGW_HEARTBEAT_TOO_LARGE',
      `heartbeat of ${length} bytes exceeds one datagram (${MAX_PACKET_LEN})`,
    );
  }

  const out = Buffer.alloc(length);
  out.writeUInt32BE(MAGIC, MAGIC_OFFSET);
  out.writeUInt8(VERSION, VERSION_OFFSET);
  out.writeUInt8(
    (packet.leaving ? FLAG_LEAVING : 0) | (packet.eligible ? 0 : FLAG_INELIGIBLE),
    FLAGS_OFFSET,
  );
  out.writeBigUInt64BE(BigInt(packet.incarnation), INCARNATION_OFFSET);
  out.writeUInt32BE(packet.sequence, SEQUENCE_OFFSET);
  let at = FIXED_HEADER_LEN;
  at = out.writeUInt8(packet.node.length, at);
  at += out.write(packet.node, at, 'ascii');
  at = out.writeUInt16BE(claims.length, at);
  for (const key of claims) {
    at = out.writeUInt16BE(key.length, at);
    at += key.copy(out, at);
  }
  at = out.writeUInt16BE(packet.view.length, at);
  for (const peer of packet.view) {
    at = out.writeUInt8(peer.node.length, at);
    at += out.write(peer.node, at, 'ascii');
    at = out.writeUInt8(viewStateCodes[peer.state], at);
  }
  mac(secret, out.subarray(0, at)).copy(out, at);
  return out;
}

/** Reads fields in order; every read checks the remaining length first. */
class Reader {
  private at: number;
  private readonly bytes: Buffer;
  private readonly end: number;

  constructor(bytes: Buffer, start: number, end: number) {
    this.bytes = bytes;
    this.at = start;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.at;
  }

  u8(): number | null {
    if (this.remaining < 1) return null;
    return this.bytes.readUInt8(this.at++);
  }

  u16(): number | null {
    if (this.remaining < 2) return null;
    const value = this.bytes.readUInt16BE(this.at);
    this.at += 2;
    return value;
  }

  text(length: number, encoding: 'ascii' | 'utf8'): string | null {
    if (this.remaining < length) return null;
    const value = this.bytes.toString(encoding, this.at, this.at + length);
    this.at += length;
    return value;
  }

  nodeName(): string | null {
    const length = this.u8();
    if (length === null) return null;
    const name = this.text(length, 'ascii');
    return name !== null && isValidNodeName(name) ? name : null;
  }
}

export function decodeHeartbeat(bytes: Buffer, secret: Uint8Array): DecodeResult {
  if (bytes.length < FIXED_HEADER_LEN + 1 + 2 + 2 + MAC_LEN) return { ok: false, reason: 'short' };
  if (bytes.readUInt32BE(MAGIC_OFFSET) !== MAGIC) return { ok: false, reason: 'bad_magic' };
  if (bytes.readUInt8(VERSION_OFFSET) !== VERSION) return { ok: false, reason: 'bad_version' };
  const macAt = bytes.length - MAC_LEN;
  const expected = mac(secret, bytes.subarray(0, macAt));
  if (!timingSafeEqual(expected, bytes.subarray(macAt))) return { ok: false, reason: 'bad_mac' };

  const incarnation = bytes.readBigUInt64BE(INCARNATION_OFFSET);
  if (incarnation > BigInt(Number.MAX_SAFE_INTEGER)) return { ok: false, reason: 'malformed' };
  const reader = new Reader(bytes, FIXED_HEADER_LEN, macAt);
  const node = reader.nodeName();
  if (node === null) return { ok: false, reason: 'malformed' };

  const claimCount = reader.u16();
  if (claimCount === null) return { ok: false, reason: 'malformed' };
  const claims: string[] = [];
  for (let i = 0; i < claimCount; i++) {
    const length = reader.u16();
    const key = length === null ? null : reader.text(length, 'utf8');
    if (key === null) return { ok: false, reason: 'malformed' };
    claims.push(key);
  }

  const viewCount = reader.u16();
  if (viewCount === null) return { ok: false, reason: 'malformed' };
  const view: HeartbeatPacket['view'] = [];
  for (let i = 0; i < viewCount; i++) {
    const peer = reader.nodeName();
    const code = reader.u8();
    const state = code === null ? undefined : viewStatesByCode[code];
    if (peer === null || state === undefined) return { ok: false, reason: 'malformed' };
    view.push({ node: peer, state });
  }
  if (reader.remaining !== 0) return { ok: false, reason: 'malformed' };

  const flags = bytes.readUInt8(FLAGS_OFFSET);
  return {
    ok: true,
    packet: {
      node,
      incarnation: Number(incarnation),
      sequence: bytes.readUInt32BE(SEQUENCE_OFFSET),
      leaving: (flags & FLAG_LEAVING) !== 0,
      eligible: (flags & FLAG_INELIGIBLE) === 0,
      claims,
      view,
    },
  };
}
