import { describe, expect, it } from 'vitest';
import { PACKET_OUTGOING } from '../../dataplane/native/linux.ts';
import { ARP_REPLY, ARP_REQUEST, type ArpFrame, buildArpFrame, parseArpFrame } from './frame.ts';
import {
  type ArpDropReason,
  type ArpEndpoint,
  ArpResponder,
  type ArpResult,
  buildArpReply,
  decideArp,
} from './responder.ts';

const OUR_MAC = '02:00:00:00:00:0a';
const PEER_MAC = '02:00:00:00:00:02';
const VIP = '10.79.0.100';
const PACKET_HOST = 0;
const PACKET_BROADCAST = 1;

const whoHasVip: ArpFrame = {
  ethDestination: 'ff:ff:ff:ff:ff:ff',
  ethSource: PEER_MAC,
  operation: ARP_REQUEST,
  senderMac: PEER_MAC,
  senderIp: '10.79.0.2',
  targetMac: '00:00:00:00:00:00',
  targetIp: VIP,
};

const owns = (ip: string) => ip === VIP;

describe('decideArp', () => {
  const cases: [ArpDropReason, string, Uint8Array, number][] = [
    ['none', 'a broadcast request for an owned address', buildArpFrame(whoHasVip), 1],
    [
      'none',
      'a unicast request to our MAC (a cache refresh)',
      buildArpFrame({ ...whoHasVip, ethDestination: OUR_MAC }),
      PACKET_HOST,
    ],
    [
      'none',
      'an RFC 5227 probe (sender 0.0.0.0)',
      buildArpFrame({ ...whoHasVip, senderIp: '0.0.0.0' }),
      PACKET_BROADCAST,
    ],
    ['malformed', 'a truncated frame', buildArpFrame(whoHasVip).subarray(0, 30), 1],
    ['outgoing', 'our own transmission', buildArpFrame(whoHasVip), PACKET_OUTGOING],
    [
      'not_request',
      'a reply',
      buildArpFrame({ ...whoHasVip, operation: ARP_REPLY }),
      PACKET_BROADCAST,
    ],
    [
      'ethernet_destination',
      'a request unicast to another MAC',
      buildArpFrame({ ...whoHasVip, ethDestination: '02:00:00:00:00:0b' }),
      3,
    ],
    [
      'gratuitous',
      'someone announcing the address',
      buildArpFrame({ ...whoHasVip, senderIp: VIP }),
      PACKET_BROADCAST,
    ],
    [
      'not_owned',
      'a request for another address',
      buildArpFrame({ ...whoHasVip, targetIp: '10.79.0.101' }),
      PACKET_BROADCAST,
    ],
  ];

  it.each(cases)('%s: %s', (reason, _what, frame, packetType) => {
    expect(decideArp(frame, frame.byteLength, packetType, OUR_MAC, owns).reason).toBe(reason);
  });
});

describe('buildArpReply', () => {
  it('answers the asker directly with our MAC for the target address', () => {
    expect(parseArpFrame(buildArpReply(whoHasVip, OUR_MAC))).toEqual({
      ethDestination: PEER_MAC,
      ethSource: OUR_MAC,
      operation: ARP_REPLY,
      senderMac: OUR_MAC,
      senderIp: VIP,
      targetMac: PEER_MAC,
      targetIp: '10.79.0.2',
    });
  });
});

class FakeEndpoint implements ArpEndpoint {
  readonly interfaceName = 'eth0';
  readonly mac = OUR_MAC;
  readonly sent: Uint8Array[] = [];
  readonly queue: { frame: Uint8Array; packetType: number }[] = [];
  failSends = false;

  receive(into: Uint8Array) {
    const next = this.queue.shift();
    if (!next) return null;
    into.set(next.frame);
    return { length: next.frame.byteLength, packetType: next.packetType };
  }

  send(frame: Uint8Array): void {
    if (this.failSends) throw Object.assign(new Error('sendto: ENOBUFS'), { code: 'EGW_ERRNO' });
    this.sent.push(frame.slice());
  }

  onReadable(): void {}
}

describe('ArpResponder', () => {
  it('answers what it owns, counts every reason and reports each frame', () => {
    const endpoint = new FakeEndpoint();
    const results: ArpResult[] = [];
    const responder = new ArpResponder(endpoint, owns, (r) => results.push(r));
    endpoint.queue.push(
      { frame: buildArpFrame(whoHasVip), packetType: PACKET_BROADCAST },
      { frame: buildArpFrame({ ...whoHasVip, targetIp: '10.79.0.9' }), packetType: 1 },
      { frame: buildArpFrame(whoHasVip), packetType: PACKET_OUTGOING },
    );
    expect(responder.drain()).toEqual(['none', 'not_owned', 'outgoing']);
    expect(endpoint.sent).toHaveLength(1);
    expect(parseArpFrame(endpoint.sent[0]!)?.senderIp).toBe(VIP);
    expect(responder.counts.none).toBe(1);
    expect(responder.counts.not_owned).toBe(1);
    expect(responder.counts.outgoing).toBe(1);
    expect(results[1]).toEqual({
      interfaceName: 'eth0',
      reason: 'not_owned',
      senderIp: '10.79.0.2',
      targetIp: '10.79.0.9',
    });
  });

  it('reports a failed answer as send_failed with the error', () => {
    const endpoint = new FakeEndpoint();
    endpoint.failSends = true;
    const results: ArpResult[] = [];
    const responder = new ArpResponder(endpoint, owns, (r) => results.push(r));
    const frame = buildArpFrame(whoHasVip);
    expect(responder.handle(frame, frame.byteLength, PACKET_BROADCAST)).toBe('send_failed');
    expect(responder.counts.send_failed).toBe(1);
    expect(results[0]?.error?.message).toContain('ENOBUFS');
  });

  it('follows the owner predicate as it changes', () => {
    const endpoint = new FakeEndpoint();
    const owned = new Set<string>();
    const responder = new ArpResponder(endpoint, (ip) => owned.has(ip));
    const frame = buildArpFrame(whoHasVip);
    expect(responder.handle(frame, frame.byteLength, PACKET_BROADCAST)).toBe('not_owned');
    owned.add(VIP);
    expect(responder.handle(frame, frame.byteLength, PACKET_BROADCAST)).toBe('none');
  });
});
