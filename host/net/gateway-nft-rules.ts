import { createHash } from 'node:crypto';
import type { IPv4 } from '../model/addresses.ts';
import { parseIPv4 } from '../model/cidr.ts';
import type { NftRuleSpec } from './desired-state.ts';
import type { NftStatement } from './nft.ts';

/**
 * Builders for the statements of the gateway's nftables rules, in libnftables-json(5)
 * form. Every rule that selects traffic for the TUN also says `notrack`: the core keeps
 * its own flow table, so kernel conntrack would only cost a second lookup per packet and
 * let NAT rules of others (a CNI's masquerade) translate the same packet again.
 */

// ICMP types (RFC 792) whose body quotes the packet that caused them (RFC 5508 §3).
const ICMP_ERRORS = ['destination-unreachable', 'time-exceeded', 'parameter-problem'];
const ICMP_HEADER_BITS = 64; // type, code, checksum, rest-of-header: 8 bytes
// The quoted IPv4 header, read at fixed offsets: only a quote without IP options
// (version 4, IHL 5) can be matched, see icmpErrorQuoting().
const QUOTE_VERSION_IHL = 0x45;
const QUOTE_PROTOCOL_BITS = ICMP_HEADER_BITS + 9 * 8;
const QUOTE_SOURCE_BITS = ICMP_HEADER_BITS + 12 * 8;
const QUOTE_L4_BITS = ICMP_HEADER_BITS + 20 * 8;
const IPPROTO_ICMP = 1;
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
const ICMP_ECHO_REQUEST = 8;
/** nft and the kernel cap a rule's comment (NFTNL_UDATA_COMMENT_MAXLEN). */
const COMMENT_MAX_BYTES = 128;

function match(left: unknown, right: unknown, op = '=='): NftStatement {
  return { match: { op, left, right } };
}

function field(protocol: string, name: string) {
  return { payload: { protocol, field: name } };
}

/** `@th,offset,len`: raw bits of the transport header (here: inside the ICMP body). */
function rawTransport(offset: number, len: number) {
  return { payload: { base: 'th', offset, len } };
}

function range(first: number, last: number): unknown {
  return first === last ? first : { range: [first, last] };
}

export const iifname = (name: string): NftStatement => match({ meta: { key: 'iifname' } }, name);
export const sourceInSet = (set: string): NftStatement => match(field('ip', 'saddr'), `@${set}`);
export const destinationInSet = (set: string): NftStatement =>
  match(field('ip', 'daddr'), `@${set}`);
export const destinationIs = (ip: IPv4): NftStatement => match(field('ip', 'daddr'), ip);
export const sourceNotInSet = (set: string): NftStatement =>
  match(field('ip', 'saddr'), `@${set}`, '!=');
export const destinationNotInSet = (set: string): NftStatement =>
  match(field('ip', 'daddr'), `@${set}`, '!=');

/** The destination is not one of this host's addresses (`fib daddr type != local`). */
export const destinationNotLocal: NftStatement = match(
  { fib: { result: 'type', flags: ['daddr'] } },
  'local',
  '!=',
);

export function tcpOrUdpDestinationPorts(first: number, last: number): NftStatement[] {
  return [
    match({ meta: { key: 'l4proto' } }, { set: ['tcp', 'udp'] }),
    match(field('th', 'dport'), range(first, last)),
  ];
}

export function echoReplyIdentifiers(first: number, last: number): NftStatement[] {
  return [
    match(field('icmp', 'type'), 'echo-reply'),
    match(field('icmp', 'id'), range(first, last)),
  ];
}

/**
 * An ICMP error that quotes a packet sent from `source` by one of our flows: a TCP or
 * UDP packet with its source port in [first, last], or an echo request with its
 * identifier there. Errors about the node's own connections (other ports) stay with the
 * local stack, so the node's PMTU discovery keeps working. Quotes with IP options move
 * the L4 header and cannot be matched at a fixed offset; they reach the local stack,
 * which drops them (the core never sends options).
 */
export function icmpErrorQuoting(
  source: IPv4,
  first: number,
  last: number,
  quoted: 'tcp-udp' | 'echo-request',
): NftStatement[] {
  const statements = [
    match(field('icmp', 'type'), { set: ICMP_ERRORS }),
    match(rawTransport(ICMP_HEADER_BITS, 8), QUOTE_VERSION_IHL),
  ];
  if (quoted === 'tcp-udp') {
    statements.push(
      match(rawTransport(QUOTE_PROTOCOL_BITS, 8), { set: [IPPROTO_TCP, IPPROTO_UDP] }),
      // Raw payloads have no address type: nft wants the address as an integer.
      match(rawTransport(QUOTE_SOURCE_BITS, 32), parseIPv4(source)),
      match(rawTransport(QUOTE_L4_BITS, 16), range(first, last)),
    );
  } else {
    statements.push(
      match(rawTransport(QUOTE_PROTOCOL_BITS, 8), IPPROTO_ICMP),
      match(rawTransport(QUOTE_SOURCE_BITS, 32), parseIPv4(source)),
      match(rawTransport(QUOTE_L4_BITS, 8), ICMP_ECHO_REQUEST),
      // The echo identifier sits 4 bytes into the quoted ICMP header.
      match(rawTransport(QUOTE_L4_BITS + 32, 16), range(first, last)),
    );
  }
  return statements;
}

/** `meta mark set meta mark | value`: sets our bits, keeps everyone else's. */
export function setMarkBits(value: number): NftStatement {
  return {
    mangle: { key: { meta: { key: 'mark' } }, value: { '|': [{ meta: { key: 'mark' } }, value] } },
  };
}

/** `meta mark set meta mark & ~mask | value`: writes one field, keeps every other bit. */
export function setMarkField(value: number, mask: number): NftStatement {
  const mark = { meta: { key: 'mark' } };
  return {
    mangle: { key: mark, value: { '|': [{ '&': [mark, ~mask >>> 0] }, value >>> 0] } },
  };
}

export const notrack: NftStatement = { notrack: null };
export const returnVerdict: NftStatement = { return: null };
export const dropVerdict: NftStatement = { drop: null };
/** Counts what the rule matched (`nft list table` shows it: how much a guard held). */
export const counter: NftStatement = { counter: { packets: 0, bytes: 0 } };

/**
 * A rule with a comment "<label> #<digest>": the digest covers the statements, so a rule
 * whose statements change gets a new comment, and the reconciler compares comments only.
 * That keeps it independent of how a given nft version prints statements back.
 */
export function labelledRule(label: string, expr: NftStatement[]): NftRuleSpec {
  const digest = createHash('sha256').update(JSON.stringify(expr)).digest('hex').slice(0, 16);
  const suffix = ` #${digest}`;
  let text = label.replace(/[^\x20-\x7e]/g, '?');
  const room = COMMENT_MAX_BYTES - 1 - suffix.length; // the kernel counts the NUL
  if (text.length > room) text = `${text.slice(0, room - 3)}...`;
  return { comment: `${text}${suffix}`, expr };
}
