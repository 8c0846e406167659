import { describe, expect, it } from 'vitest';
import type { NatEngine, NatEngineConfig } from '../../host/dataplane/nat-engine.ts';
import { ReferenceNat } from '../../host/dataplane/reference/reference-nat.ts';
import {
  buildIcmpErrorPacket,
  buildTcpPacket,
  buildUdpPacket,
  fragmentDatagram,
  TcpFlag,
} from '../support/packets/index.ts';
import { coreAvailable } from './core-available.ts';
import {
  EGRESS,
  knownCoreDivergences,
  PODS,
  policies,
  REMOTES,
  ROUTER,
  testTimeouts,
} from './traffic.ts';

// Each case where the compiled core and the reference model (assembly/README.md) are
// known to differ, as a fixed example. While its switch in traffic.ts
// (knownCoreDivergences) is on, the case runs as `it.fails`; when the core is aligned
// it starts failing: turn the switch off, and it becomes a plain test that must pass
// (and the property test covers those inputs again).

const config: NatEngineConfig = { maxFlows: 256, vnetHdrLen: 0, seed: 7, timeouts: testTimeouts };
const POD = PODS[0]!;
const REMOTE = REMOTES[0]!;

const divergent = (known: boolean) => (known ? it.fails : it);

/**
 * Runs batches through an engine: every verdict, output and exported flow. `maskState`
 * compares exported states without the core's flag bits.
 */
function trace(engine: NatEngine, batches: Uint8Array[][], maskState: boolean): unknown {
  engine.setPolicy(policies[0]!);
  const seen = batches.map((batch, i) => {
    const result = engine.process(batch, 1000 + i);
    return {
      verdicts: result.verdicts,
      packets: result.packets.map((p) => Buffer.from(p).toString('hex')),
      emitted: result.emitted.map((p) => Buffer.from(p).toString('hex')),
    };
  });
  const flows = engine
    .exportFlows(2000)
    .map((flow) => ({ ...flow, state: maskState ? flow.state & 7 : flow.state }))
    .map((flow) => JSON.stringify(flow, Object.keys(flow).sort()))
    .sort();
  return { seen, flows };
}

async function createCore(): Promise<NatEngine> {
  const { Core } = await import('../../host/dataplane/core.ts');
  return Core.create({
    ...config,
    batchSlots: 64,
    maxEgress: 4,
    tableBytes: 1 << 16,
    exportRecords: 256,
  });
}

async function compare(
  batches: Uint8Array[][],
  maskState = knownCoreDivergences.exportedStateHasFlags,
): Promise<void> {
  const core = await createCore();
  expect(trace(core, batches, maskState)).toEqual(
    trace(new ReferenceNat(config), batches, maskState),
  );
}

const udp = (fields: { length?: number } = {}) =>
  buildUdpPacket(
    { src: POD, dst: REMOTE },
    { srcPort: 40000, dstPort: 53, payload: Uint8Array.of(1, 2), ...fields },
  );

describe.skipIf(!coreAvailable)('known divergences of the compiled core from the model', () => {
  it('agree on a packet that shows none of them (the comparison itself works)', async () => {
    await compare([
      [udp()],
      [buildUdpPacket({ src: REMOTE, dst: EGRESS[0]! }, { srcPort: 53, dstPort: 40000 })],
    ]);
  });

  divergent(knownCoreDivergences.udpLengthUnchecked)(
    'a UDP length field beyond the datagram is malformed',
    async () => {
      await compare([[udp({ length: 0xff08 }), udp({ length: 7 })]]);
    },
  );

  divergent(knownCoreDivergences.icmpErrorFragmentsUnrecorded)(
    'the first fragment of an ICMP error records its datagram for the later ones',
    async () => {
      // The pod's packet, and the router's error about it as translated: 20 + 8 + a
      // 98-byte quote, cut into 48-byte pieces so that the first holds the quote's
      // header and ports.
      const sent = buildUdpPacket(
        { src: POD, dst: REMOTE },
        { srcPort: 40000, dstPort: 53, payload: new Uint8Array(70) },
      );
      const translated = (
        await createCore().then((core) => {
          core.setPolicy(policies[0]!);
          return core.process([sent], 1000);
        })
      ).packets[0]!;
      const error = buildIcmpErrorPacket(
        { src: ROUTER, dst: EGRESS[0]!, id: 5 },
        { error: { type: 'time-exceeded', code: 0 }, quoted: translated, quoteLength: 'linux' },
      );
      const pieces = fragmentDatagram(error, 48);
      expect(pieces.length).toBe(3);
      await compare([[sent], [pieces[1]!, pieces[0]!, ...pieces.slice(2)]]);
    },
  );

  divergent(knownCoreDivergences.synAckFirstReplyKeepsUnreplied)(
    'a picked-up TCP flow is established by its first reply, a SYN+ACK included',
    async () => {
      const ack = buildTcpPacket(
        { src: POD, dst: REMOTE },
        { srcPort: 40000, dstPort: 443, flags: TcpFlag.ack },
      );
      const synAck = buildTcpPacket(
        { src: REMOTE, dst: EGRESS[0]! },
        { srcPort: 443, dstPort: 40000, flags: TcpFlag.syn | TcpFlag.ack },
      );
      await compare([[ack], [synAck]]);
    },
  );

  divergent(knownCoreDivergences.exportedStateHasFlags)(
    'exported flows carry the state code alone',
    async () => {
      await compare(
        [
          [udp()],
          [buildUdpPacket({ src: REMOTE, dst: EGRESS[0]! }, { srcPort: 53, dstPort: 40000 })],
        ],
        false,
      );
    },
  );
});
