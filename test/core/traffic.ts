import fc from 'fast-check';
import type { NatTimeouts } from '../../host/dataplane/nat-engine.ts';
import type { NatPolicy } from '../../host/model/nat-policy.ts';
import {
  buildEchoPacket,
  buildIcmpErrorPacket,
  buildTcpPacket,
  buildUdpPacket,
  fixIpv4Checksum,
  fragmentDatagram,
  type IcmpErrorKind,
  parseIpv4,
  readU16,
  toNeedsCsum,
  VnetGso,
  type VnetHdrLen,
  withVnetHeader,
} from '../support/packets/index.ts';

/**
 * Random traffic for the core-vs-model property tests: a few pods talking to a few
 * remotes through two egress addresses, replies and ICMP errors made from earlier
 * outputs, fragments out of order, subtly broken packets, policy changes and time.
 *
 * Time is generated so that nothing expires between two sweepAll calls: small steps
 * add up to less than the shortest timeout, then a jump is followed by sweepAll on both
 * engines. The core frees expired state lazily and the model eagerly; with this rule
 * the two must agree exactly (assembly/README.md, "A flow whose expiry has passed is
 * gone").
 */

/**
 * Places where the compiled core does not (yet) do what assembly/README.md says and the
 * reference model does. While a switch is on, the traffic avoids the inputs that show
 * the difference, so that everything else is still compared; known-divergences.test.ts
 * pins each one with a fixed example. Turn a switch off once the core is aligned.
 */
export const knownCoreDivergences = {
  /** The core does not check the UDP length field (README: an L4 length check). */
  udpLengthUnchecked: false,
  /** The core records no fragment entry for the first fragment of an ICMP error. */
  icmpErrorFragmentsUnrecorded: false,
  /** A SYN+ACK as first reply leaves a picked-up TCP flow unreplied in the core. */
  synAckFirstReplyKeepsUnreplied: false,
  /** The core's exported state carries its flag bits (replied, FIN directions). */
  exportedStateHasFlags: false,
};

export const EGRESS = ['203.0.113.1', '203.0.113.2'];
export const PODS = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.1.9'];
export const REMOTES = ['198.51.100.1', '198.51.100.2', '198.51.100.3', '10.1.0.1'];
export const ROUTER = '192.0.2.254';

/** Short timeouts so that jumps expire some flows and not others. */
export const testTimeouts: NatTimeouts = {
  tcpEstablishedMs: 50_000,
  tcpTransitoryMs: 20_000,
  tcpTimeWaitMs: 15_000,
  tcpClosedMs: 5_000,
  udpMs: 12_000,
  icmpMs: 8_000,
  fragmentMs: 6_000,
};
export const shortestTimeout = Math.min(...Object.values(testTimeouts));

const rule = (sources: string[], destinations: string[], egressIP: string) => ({
  sources,
  destinations,
  excluded: ['10.0.0.0/8'],
  egressIP,
});

/** The policies the tests switch between. */
export const policies: NatPolicy[] = [
  {
    egress: EGRESS.map((ip) => ({ ip, portMin: 1024, portMax: 65535 })),
    rules: [rule(['10.0.0.0/24'], ['0.0.0.0/0'], EGRESS[0]!)],
  },
  {
    // One remote moves to the second address (longest prefix wins).
    egress: EGRESS.map((ip) => ({ ip, portMin: 1024, portMax: 65535 })),
    rules: [
      rule(['10.0.0.0/24'], ['0.0.0.0/0'], EGRESS[0]!),
      rule(['10.0.0.0/24'], ['198.51.100.2/32'], EGRESS[1]!),
    ],
  },
  {
    // Two ports: preservation fails, the hash and the scan decide, exhaustion happens.
    egress: EGRESS.map((ip) => ({ ip, portMin: 40000, portMax: 40001 })),
    rules: [rule(['10.0.0.0/24'], ['0.0.0.0/0'], EGRESS[0]!)],
  },
  {
    // Only two pods selected, and everything on the second address.
    egress: EGRESS.map((ip) => ({ ip, portMin: 1024, portMax: 65535 })),
    rules: [rule(['10.0.0.1/32', '10.0.0.2/32'], ['198.51.100.0/24'], EGRESS[1]!)],
  },
];

export interface VirtioChoice {
  needsCsum: boolean;
  gso: boolean;
  /** Replaces one byte of the virtio header (subtly malformed headers). */
  corrupt: { offset: number; value: number } | null;
}

export interface Mutation {
  kind: 'byte' | 'truncate';
  offset: number;
  value: number;
  fixChecksum: boolean;
}

export type Source =
  | {
      kind: 'outbound';
      proto: 'tcp' | 'udp' | 'icmp';
      pod: number;
      remote: number;
      sport: number;
      dport: number;
    }
  | { kind: 'reply'; pick: number }
  | { kind: 'stray'; remote: number; egress: number; port: number }
  | { kind: 'error-inbound'; pick: number; error: number; quote: number }
  | { kind: 'error-outbound'; pick: number; error: number; quote: number }
  | { kind: 'garbage'; bytes: Uint8Array };

export interface PacketSpec {
  source: Source;
  tcpFlags: number;
  id: number;
  payload: number;
  virtio: VirtioChoice;
  mutation: Mutation | null;
  /** Cut into pieces of this many data bytes (0: not fragmented), in this order. */
  fragment: { size: number; order: number[]; deferFirst: boolean } | null;
}

export type Step =
  | { kind: 'batch'; packets: PacketSpec[] }
  | { kind: 'advance'; ms: number }
  | { kind: 'jump'; ms: number }
  | { kind: 'policy'; index: number };

const flagChoices = [0x02, 0x12, 0x10, 0x18, 0x11, 0x01, 0x04, 0x14, 0x03, 0x00];

const sourceArb: fc.Arbitrary<Source> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('outbound' as const),
      proto: fc.constantFrom('tcp' as const, 'udp' as const, 'icmp' as const),
      pod: fc.nat({ max: PODS.length - 1 }),
      remote: fc.nat({ max: REMOTES.length - 1 }),
      sport: fc.constantFrom(40000, 40001, 40003, 1000, 5),
      dport: fc.constantFrom(53, 80, 443),
    }),
  },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('reply' as const), pick: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('stray' as const),
      remote: fc.nat({ max: REMOTES.length - 1 }),
      egress: fc.nat({ max: EGRESS.length - 1 }),
      port: fc.constantFrom(40000, 40001, 1024, 53),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('error-inbound' as const),
      pick: fc.nat(),
      error: fc.nat({ max: 5 }),
      quote: fc.nat({ max: 3 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('error-outbound' as const),
      pick: fc.nat(),
      error: fc.nat({ max: 5 }),
      quote: fc.nat({ max: 3 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('garbage' as const),
      bytes: fc.uint8Array({ maxLength: 48 }),
    }),
  },
);

const packetArb: fc.Arbitrary<PacketSpec> = fc.record({
  source: sourceArb,
  tcpFlags: fc.constantFrom(...flagChoices),
  id: fc.nat({ max: 3 }),
  payload: fc.nat({ max: 40 }),
  virtio: fc.record({
    needsCsum: fc.boolean(),
    gso: fc.nat({ max: 99 }).map((n) => n < 15),
    corrupt: fc.option(fc.record({ offset: fc.nat({ max: 11 }), value: fc.nat({ max: 255 }) }), {
      freq: 15,
    }),
  }),
  mutation: fc.option(
    fc.record({
      kind: fc.constantFrom('byte' as const, 'truncate' as const),
      offset: fc.nat(),
      value: fc.nat({ max: 255 }),
      fixChecksum: fc.boolean(),
    }),
    { freq: 8 },
  ),
  fragment: fc.option(
    fc.record({
      size: fc.constantFrom(16, 24, 48, 64),
      order: fc.array(fc.nat(), { minLength: 8, maxLength: 8 }),
      deferFirst: fc.boolean(),
    }),
    { freq: 10 },
  ),
});

export const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('batch' as const),
      packets: fc.array(packetArb, { minLength: 1, maxLength: 6 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.nat({ max: 1500 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('jump' as const),
      ms: fc.integer({ min: 1000, max: 60_000 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('policy' as const),
      index: fc.nat({ max: policies.length - 1 }),
    }),
  },
);

/** What earlier batches put out, for replies and ICMP errors to refer to. */
export interface History {
  /** Forwarded outbound packets (translated), IPv4 bytes. */
  sent: Uint8Array[];
  /** Forwarded inbound packets (translated back), IPv4 bytes. */
  delivered: Uint8Array[];
}

const errorKinds: IcmpErrorKind[] = [
  { type: 'destination-unreachable', code: 4, nextHopMtu: 1280 },
  { type: 'destination-unreachable', code: 3 },
  { type: 'destination-unreachable', code: 1 },
  { type: 'time-exceeded', code: 0 },
  { type: 'time-exceeded', code: 1 },
  { type: 'parameter-problem', pointer: 12 },
];

function payloadOf(length: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i * 7 + length) & 0xff);
}

/** A reply to a translated outbound packet: addresses and ports swapped. */
function replyTo(sent: Uint8Array, spec: PacketSpec): Uint8Array {
  const ip = parseIpv4(sent);
  const l4 = sent.subarray(ip.headerLength);
  const fields = { src: ip.dst, dst: ip.src, id: spec.id };
  const payload = payloadOf(spec.payload);
  if (ip.protocol === 1) {
    return buildEchoPacket(fields, {
      type: 'reply',
      id: readU16(l4, 4),
      sequence: readU16(l4, 6),
      payload,
    });
  }
  const ports = { srcPort: readU16(l4, 2), dstPort: readU16(l4, 0) };
  if (ip.protocol === 6)
    return buildTcpPacket(fields, {
      ...ports,
      flags: spec.tcpFlags | 0x10,
      seq: 7,
      ack: 9,
      payload,
    });
  return buildUdpPacket(fields, { ...ports, payload });
}

function quoteLength(choice: number): 'minimum' | 'linux' | number {
  return choice === 0 ? 'minimum' : choice === 1 ? 'linux' : choice === 2 ? 36 : 30;
}

/** The IPv4 datagram a spec stands for, before fragmenting and virtio wrapping. */
function datagram(spec: PacketSpec, history: History): Uint8Array | null {
  const source = spec.source;
  const payload = payloadOf(spec.payload);
  switch (source.kind) {
    case 'outbound': {
      const fields = { src: PODS[source.pod]!, dst: REMOTES[source.remote]!, id: spec.id };
      if (source.proto === 'tcp') {
        // A super-packet for GSO; never cut into fragments (pieces would flood the batch).
        const big = spec.virtio.gso && spec.fragment === null ? payloadOf(3000) : payload;
        return buildTcpPacket(fields, {
          srcPort: source.sport,
          dstPort: source.dport,
          flags: spec.tcpFlags,
          seq: 1,
          ack: 2,
          payload: big,
        });
      }
      if (source.proto === 'udp')
        return buildUdpPacket(fields, { srcPort: source.sport, dstPort: source.dport, payload });
      return buildEchoPacket(fields, {
        type: 'request',
        id: source.sport,
        sequence: spec.id,
        payload,
      });
    }
    case 'reply': {
      const sent = history.sent[source.pick % Math.max(1, history.sent.length)];
      return sent === undefined ? null : replyTo(sent, spec);
    }
    case 'stray':
      return buildUdpPacket(
        { src: REMOTES[source.remote]!, dst: EGRESS[source.egress]!, id: spec.id },
        { srcPort: 53, dstPort: source.port, payload },
      );
    case 'error-inbound': {
      const sent = history.sent[source.pick % Math.max(1, history.sent.length)];
      if (sent === undefined) return null;
      return buildIcmpErrorPacket(
        { src: ROUTER, dst: parseIpv4(sent).src, id: spec.id },
        { error: errorKinds[source.error]!, quoted: sent, quoteLength: quoteLength(source.quote) },
      );
    }
    case 'error-outbound': {
      const delivered = history.delivered[source.pick % Math.max(1, history.delivered.length)];
      if (delivered === undefined) return null;
      const ip = parseIpv4(delivered);
      return buildIcmpErrorPacket(
        { src: ip.dst, dst: ip.src, id: spec.id },
        {
          error: errorKinds[source.error]!,
          quoted: delivered,
          quoteLength: quoteLength(source.quote),
        },
      );
    }
    case 'garbage':
      return source.bytes;
  }
}

function mutate(packet: Uint8Array, mutation: Mutation | null): Uint8Array {
  if (mutation === null || packet.length === 0) return packet;
  if (mutation.kind === 'truncate') return packet.slice(0, mutation.offset % packet.length);
  const copy = packet.slice();
  copy[mutation.offset % Math.min(copy.length, 64)] = mutation.value;
  const headerLength = (copy[0]! & 0x0f) * 4;
  if (
    mutation.fixChecksum &&
    copy.length >= 20 &&
    headerLength >= 20 &&
    headerLength <= copy.length
  ) {
    fixIpv4Checksum(copy);
  }
  return copy;
}

function wrap(
  packet: Uint8Array,
  spec: PacketSpec,
  vnetHdrLen: VnetHdrLen,
  fragmented: boolean,
): Uint8Array {
  if (vnetHdrLen === 0) return packet;
  let slot: Uint8Array;
  const proto = packet.length >= 20 ? packet[9] : -1;
  const offloadable =
    !fragmented && packet.length >= 28 && (proto === 6 || proto === 17) && spec.mutation === null;
  if (offloadable && spec.virtio.needsCsum) {
    const gso = spec.virtio.gso && packet.length > 1500;
    const tcpHeader = proto === 6 ? (packet[32]! >>> 4) * 4 : 8;
    slot = toNeedsCsum(
      packet,
      vnetHdrLen,
      gso
        ? {
            gsoType: proto === 6 ? VnetGso.tcpv4 : VnetGso.udpL4,
            gsoSize: 1400,
            hdrLen: 20 + tcpHeader,
          }
        : {},
    );
  } else {
    slot = withVnetHeader(packet, vnetHdrLen);
  }
  const corrupt = spec.virtio.corrupt;
  if (corrupt !== null) slot[corrupt.offset % vnetHdrLen] = corrupt.value;
  return slot;
}

/**
 * Turns a batch's specs into slots. Fragments come in the spec's order; a deferred
 * first fragment goes to `deferred`, to be sent at the start of the next batch.
 */
export function buildBatch(
  specs: PacketSpec[],
  history: History,
  vnetHdrLen: VnetHdrLen,
  deferred: Uint8Array[],
): Uint8Array[] {
  const slots = deferred.splice(0);
  for (const spec of specs) {
    const base = datagram(spec, history);
    if (base === null) continue;
    const fragmentable =
      spec.fragment !== null && spec.source.kind !== 'garbage' && base.length > 28;
    if (!fragmentable) {
      slots.push(wrap(mutate(base, spec.mutation), spec, vnetHdrLen, false));
      continue;
    }
    const { size, order, deferFirst } = spec.fragment!;
    const pieces = fragmentDatagram(base, size).map((piece) => wrap(piece, spec, vnetHdrLen, true));
    const first = pieces.shift()!;
    // Shuffle the later ones by the generated keys, then put the first somewhere.
    const keyed = pieces.map((piece, i) => ({ piece, key: order[i % order.length]! * 64 + i }));
    keyed.sort((a, b) => a.key - b.key);
    const laters = keyed.map((entry) => entry.piece);
    if (deferFirst) {
      deferred.push(first);
      slots.push(...laters);
    } else {
      const at = (order[0] ?? 0) % (laters.length + 1);
      slots.push(...laters.slice(0, at), first, ...laters.slice(at));
    }
  }
  return slots.filter((slot) => !showsKnownDivergence(slot.subarray(vnetHdrLen))).slice(0, 64);
}

/** Whether an IPv4 packet (no virtio header) shows a known divergence (see above). */
export function showsKnownDivergence(packet: Uint8Array): boolean {
  if (packet.length < 20 || packet[0]! >>> 4 !== 4) return false;
  const headerLength = (packet[0]! & 0x0f) * 4;
  const totalLength = readU16(packet, 2);
  if (headerLength < 20 || totalLength < headerLength || totalLength > packet.length) return false;
  const flagsFragment = readU16(packet, 6);
  const laterFragment = (flagsFragment & 0x1fff) !== 0;
  const moreFragments = (flagsFragment & 0x2000) !== 0;
  const l4Length = totalLength - headerLength;
  if (laterFragment) return false;
  if (knownCoreDivergences.udpLengthUnchecked && packet[9] === 17 && l4Length >= 8) {
    const udpLength = readU16(packet, headerLength + 4);
    if (udpLength < 8 || (!moreFragments && udpLength > l4Length)) return true;
  }
  if (
    knownCoreDivergences.icmpErrorFragmentsUnrecorded &&
    packet[9] === 1 &&
    moreFragments &&
    l4Length >= 1
  ) {
    const type = packet[headerLength];
    if (type === 3 || type === 11 || type === 12) return true;
  }
  return false;
}

/** Records what a batch put out, for later replies and errors. */
export function remember(
  history: History,
  outputs: Uint8Array[],
  verdicts: number[],
  vnetHdrLen: number,
): void {
  outputs.forEach((slot, i) => {
    if (verdicts[i] !== 0) return;
    const packet = slot.subarray(vnetHdrLen);
    if (packet.length < 28) return;
    const ip = parseIpv4(packet);
    if (ip.moreFragments || ip.fragmentOffset !== 0 || ip.totalLength > 1500) return;
    const type = packet[ip.headerLength];
    if (ip.protocol === 1 && type !== 8 && type !== 0) return;
    const clean = packet.slice(0, ip.totalLength);
    if (EGRESS.includes(ip.src)) history.sent.push(clean);
    else history.delivered.push(clean);
  });
  if (history.sent.length > 64) history.sent.splice(0, history.sent.length - 64);
  if (history.delivered.length > 64) history.delivered.splice(0, history.delivered.length - 64);
}
