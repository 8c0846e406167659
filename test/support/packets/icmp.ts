import { PacketBuildError, readU16, writeU16 } from './addresses.ts';
import { internetChecksum } from './checksum.ts';
import { buildIpv4, IP_PROTO_ICMP, type Ipv4Fields, parseIpv4 } from './ipv4.ts';

// ICMP (RFC 792). Every message starts type | code | checksum | 4 bytes that depend on
// the type; the checksum covers the whole ICMP message and has no pseudo-header.
//
//   echo:   identifier | sequence number | data
//   errors: unused (dest. unreachable code 4: unused | next-hop MTU, RFC 1191;
//           parameter problem: pointer | unused) | the offending datagram's IP header
//           and at least its first 8 data bytes

export const ICMP_HEADER_LEN = 8;
export const IcmpType = {
  echoReply: 0,
  destinationUnreachable: 3,
  echoRequest: 8,
  timeExceeded: 11,
  parameterProblem: 12,
} as const;
/** Destination unreachable codes (RFC 792, RFC 1122 section 3.2.2.1). */
export const UnreachableCode = {
  net: 0,
  host: 1,
  protocol: 2,
  port: 3,
  fragmentationNeeded: 4,
  sourceRouteFailed: 5,
  adminProhibited: 13,
} as const;

export interface IcmpEchoFields {
  type: 'request' | 'reply';
  id: number;
  sequence?: number;
  payload?: Uint8Array;
  /** Written as given instead of computed. */
  checksum?: number;
}

export type IcmpErrorKind =
  | { type: 'destination-unreachable'; code: number; nextHopMtu?: number }
  | { type: 'time-exceeded'; code: 0 | 1 }
  | { type: 'parameter-problem'; pointer: number };

export interface IcmpErrorFields {
  error: IcmpErrorKind;
  /** The packet the error is about (an IPv4 datagram as it was sent). */
  quoted: Uint8Array;
  /**
   * How much of it to quote: 'minimum' is its IP header and 8 bytes (RFC 792), 'linux'
   * is as much as fits a 576-byte error (RFC 1812 section 4.3.2.3), a number is exact.
   */
  quoteLength?: 'minimum' | 'linux' | number;
  checksum?: number;
}

export interface IcmpMessage {
  type: number;
  code: number;
  checksum: number;
  /** Bytes 4..8: echo identifier and sequence, or the error's type-specific word. */
  restOfHeader: Uint8Array;
  /** Echo data, or the quoted datagram of an error. */
  body: Uint8Array;
}

function finishIcmp(message: Uint8Array, checksum: number | undefined): Uint8Array {
  writeU16(message, 2, checksum ?? internetChecksum(message));
  return message;
}

export function buildIcmpEcho(fields: IcmpEchoFields): Uint8Array {
  const payload = fields.payload ?? new Uint8Array(0);
  const message = new Uint8Array(ICMP_HEADER_LEN + payload.length);
  message[0] = fields.type === 'request' ? IcmpType.echoRequest : IcmpType.echoReply;
  writeU16(message, 4, fields.id);
  writeU16(message, 6, fields.sequence ?? 0);
  message.set(payload, ICMP_HEADER_LEN);
  return finishIcmp(message, fields.checksum);
}

function quoteLengthFor(fields: IcmpErrorFields): number {
  const quoted = fields.quoted;
  const choice = fields.quoteLength ?? 'minimum';
  if (typeof choice === 'number') return Math.min(choice, quoted.length);
  if (choice === 'linux') return Math.min(quoted.length, 576 - 20 - ICMP_HEADER_LEN);
  return Math.min(quoted.length, parseIpv4(quoted).headerLength + 8);
}

export function buildIcmpError(fields: IcmpErrorFields): Uint8Array {
  const quote = fields.quoted.subarray(0, quoteLengthFor(fields));
  const message = new Uint8Array(ICMP_HEADER_LEN + quote.length);
  const error = fields.error;
  switch (error.type) {
    case 'destination-unreachable':
      message[0] = IcmpType.destinationUnreachable;
      message[1] = error.code;
      if (error.nextHopMtu !== undefined) {
        if (error.code !== UnreachableCode.fragmentationNeeded) {
          throw new PacketBuildError('BAD_ICMP', 'next-hop MTU belongs to code 4 only');
        }
        writeU16(message, 6, error.nextHopMtu);
      }
      break;
    case 'time-exceeded':
      message[0] = IcmpType.timeExceeded;
      message[1] = error.code;
      break;
    case 'parameter-problem':
      message[0] = IcmpType.parameterProblem;
      message[4] = error.pointer;
      break;
  }
  message.set(quote, ICMP_HEADER_LEN);
  return finishIcmp(message, fields.checksum);
}

export function parseIcmp(message: Uint8Array): IcmpMessage {
  if (message.length < ICMP_HEADER_LEN) {
    throw new PacketBuildError('SHORT_PACKET', `${message.length} bytes cannot hold ICMP`);
  }
  return {
    type: message[0]!,
    code: message[1]!,
    checksum: readU16(message, 2),
    restOfHeader: message.slice(4, 8),
    body: message.slice(ICMP_HEADER_LEN),
  };
}

export function buildIcmpPacket(ip: Omit<Ipv4Fields, 'protocol'>, message: Uint8Array): Uint8Array {
  return buildIpv4({ ...ip, protocol: IP_PROTO_ICMP }, message);
}

export function buildEchoPacket(
  ip: Omit<Ipv4Fields, 'protocol'>,
  echo: IcmpEchoFields,
): Uint8Array {
  return buildIcmpPacket(ip, buildIcmpEcho(echo));
}

/** An ICMP error from `from` to `to` about `fields.quoted`. */
export function buildIcmpErrorPacket(
  ip: Omit<Ipv4Fields, 'protocol'>,
  fields: IcmpErrorFields,
): Uint8Array {
  return buildIcmpPacket(ip, buildIcmpError(fields));
}
