import { describe, expect, it } from 'vitest';
import { Verdict } from '../../host/dataplane/nat-engine.ts';
import type { NatPolicy } from '../../host/model/nat-policy.ts';
import {
  buildEchoPacket,
  buildGsoTcpPacket,
  buildIcmpErrorPacket,
  buildIpv4,
  buildTcpPacket,
  buildUdpPacket,
  fragmentDatagram,
  mssAndSackOptions,
  TcpFlag,
  toNeedsCsum,
  withVnetHeader,
} from '../support/packets/index.ts';
import { coreAvailable } from './core-available.ts';
import { testTimeouts } from './traffic.ts';

// Random and mutated packets through the compiled core alone: it must never trap or
// throw, give a known verdict for each packet, keep every length, never track more
// flows than it has room for, and forget everything once every timeout has passed.
// FUZZ_PACKETS sets how many packets (default 20 million: 8-10 s on these machines at
// two to two and a half million packets a second through the copying NatEngine
// interface); FUZZ_SEED
// repeats a run.

const totalPackets = Number(process.env['FUZZ_PACKETS'] ?? 20_000_000);
const seed = Number(process.env['FUZZ_SEED'] ?? Date.now() % 0x7fffffff) >>> 0;
const MAX_FLOWS = 256;
const BATCH = 64;
const VNET = 10;

const EGRESS = '203.0.113.1';
// Eight ports on the first address: exhaustion happens too.
const egress = [
  { ip: EGRESS, portMin: 1024, portMax: 1031 },
  { ip: '203.0.113.2', portMin: 1024, portMax: 65535 },
];
const policies: NatPolicy[] = [
  {
    egress,
    rules: [
      {
        sources: ['10.0.0.0/24'],
        destinations: ['0.0.0.0/0'],
        excluded: ['10.0.0.0/8'],
        egressIP: EGRESS,
      },
      {
        sources: ['10.0.0.0/25'],
        destinations: ['198.51.100.0/24'],
        excluded: [],
        egressIP: '203.0.113.2',
      },
    ],
  },
  {
    // The second rule gone: its flows are invalidated on their next packet.
    egress,
    rules: [
      {
        sources: ['10.0.0.0/24'],
        destinations: ['0.0.0.0/0'],
        excluded: ['10.0.0.0/8'],
        egressIP: EGRESS,
      },
    ],
  },
];

/** xorshift32: fast, and a seed reproduces a run. */
function random(state: { s: number }): number {
  let x = state.s;
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  state.s = x >>> 0;
  return state.s;
}

/** Well-formed packets of every kind, to mutate. */
function templates(): Uint8Array[] {
  const pods = ['10.0.0.1', '10.0.0.200', '10.0.1.1'];
  const remotes = ['198.51.100.7', '192.0.2.9', '10.2.0.1'];
  const list: Uint8Array[] = [];
  for (const src of pods) {
    for (const dst of remotes) {
      for (const port of [1024, 40000, 5]) {
        const ip = { src, dst, id: port };
        list.push(buildUdpPacket(ip, { srcPort: port, dstPort: 53, payload: new Uint8Array(20) }));
        list.push(
          buildTcpPacket(ip, {
            srcPort: port,
            dstPort: 443,
            flags: TcpFlag.syn,
            options: mssAndSackOptions(1460),
          }),
        );
        list.push(
          buildTcpPacket(ip, { srcPort: port, dstPort: 443, flags: TcpFlag.ack | TcpFlag.fin }),
        );
        list.push(buildEchoPacket(ip, { type: 'request', id: port, payload: new Uint8Array(16) }));
        list.push(buildUdpPacket({ src: dst, dst: EGRESS }, { srcPort: 53, dstPort: port }));
        list.push(
          buildTcpPacket(
            { src: dst, dst: EGRESS },
            { srcPort: 443, dstPort: port, flags: TcpFlag.syn | TcpFlag.ack },
          ),
        );
        list.push(buildEchoPacket({ src: dst, dst: EGRESS }, { type: 'reply', id: port }));
      }
    }
  }
  const sent = buildUdpPacket(
    { src: EGRESS, dst: '198.51.100.7' },
    { srcPort: 1024, dstPort: 53, payload: new Uint8Array(40) },
  );
  for (const quoteLength of ['minimum', 'linux'] as const) {
    list.push(
      buildIcmpErrorPacket(
        { src: '192.0.2.1', dst: EGRESS },
        {
          error: { type: 'destination-unreachable', code: 4, nextHopMtu: 1400 },
          quoted: sent,
          quoteLength,
        },
      ),
    );
    list.push(
      buildIcmpErrorPacket(
        { src: '10.0.0.1', dst: '198.51.100.7' },
        { error: { type: 'time-exceeded', code: 0 }, quoted: sent, quoteLength },
      ),
    );
  }
  const big = buildUdpPacket(
    { src: '10.0.0.1', dst: '198.51.100.7', id: 99 },
    { srcPort: 1024, dstPort: 53, payload: new Uint8Array(300) },
  );
  list.push(...fragmentDatagram(big, 64));
  list.push(buildIpv4({ src: '10.0.0.1', dst: '198.51.100.7', protocol: 47 }, new Uint8Array(12)));
  return list.map((packet) => withVnetHeader(packet, VNET));
}

function mutate(template: Uint8Array, state: { s: number }): Uint8Array {
  const roll = random(state) % 16;
  if (roll === 0) {
    // Pure garbage, any length up to 128.
    const bytes = new Uint8Array(random(state) % 129);
    for (let i = 0; i < bytes.length; i++) bytes[i] = random(state) & 0xff;
    return bytes;
  }
  if (roll === 1) return template.slice(0, random(state) % (template.length + 1));
  const packet = template.slice();
  // Flip one to four bytes, mostly in the headers (virtio, IPv4, L4, the quote).
  const flips = roll < 8 ? 0 : 1 + (random(state) % 4);
  for (let i = 0; i < flips; i++) {
    const at = random(state) % Math.min(packet.length, 80);
    packet[at] = random(state) & 0xff;
  }
  return packet;
}

const knownVerdicts = new Set<number>(Object.values(Verdict));

describe.skipIf(!coreAvailable)('fuzzing the compiled core', () => {
  it(`survives ${totalPackets} random and mutated packets and leaks nothing (seed ${seed})`, async () => {
    const { Core } = await import('../../host/dataplane/core.ts');
    const core = await Core.create({
      maxFlows: MAX_FLOWS,
      vnetHdrLen: VNET,
      seed,
      timeouts: testTimeouts,
      batchSlots: BATCH,
      maxEgress: 4,
      tableBytes: 1 << 16,
      exportRecords: 256,
    });
    core.setPolicy(policies[0]!);
    const pool = templates();
    const extras = [
      buildGsoTcpPacket(
        { src: '10.0.0.1', dst: '198.51.100.7' },
        { srcPort: 1024, dstPort: 5201, flags: TcpFlag.ack, payload: new Uint8Array(20_000) },
        1448,
        VNET,
      ),
      toNeedsCsum(
        buildTcpPacket(
          { src: '10.0.0.1', dst: '192.0.2.9' },
          { srcPort: 2000, dstPort: 80, flags: TcpFlag.ack },
        ),
        VNET,
      ),
    ];
    pool.push(...extras);
    const state = { s: seed || 1 };
    let now = random(state);
    let processed = 0;
    while (processed < totalPackets) {
      const batch: Uint8Array[] = [];
      for (let i = 0; i < BATCH; i++) batch.push(mutate(pool[random(state) % pool.length]!, state));
      const result = core.process(batch, now);
      for (let i = 0; i < batch.length; i++) {
        if (
          !knownVerdicts.has(result.verdicts[i]!) ||
          result.packets[i]!.length !== batch[i]!.length
        ) {
          expect.fail(
            `packet ${processed + i} (seed ${seed}): verdict ${result.verdicts[i]}, ${batch[i]!.length} -> ${result.packets[i]!.length} bytes`,
          );
        }
      }
      if (core.flowCount() > MAX_FLOWS)
        expect.fail(`${core.flowCount()} flows in a table of ${MAX_FLOWS} (seed ${seed})`);
      processed += batch.length;
      now = (now + (random(state) % 64)) >>> 0;
      if (random(state) % 512 === 0) core.setPolicy(policies[random(state) % policies.length]!);
      if (random(state) % 256 === 0) {
        now = (now + (random(state) % 60_000)) >>> 0;
        core.sweepAll(now);
      }
    }

    // Past every timeout: nothing may be left, and the core must still work.
    now = (now + Math.max(...Object.values(testTimeouts)) + 1) >>> 0;
    core.sweepAll(now);
    expect(core.flowCount()).toBe(0);
    expect(core.mappingCount()).toBe(0);
    const laters = Array.from({ length: 64 }, (_, id) =>
      withVnetHeader(
        buildIpv4(
          { src: '10.0.0.9', dst: '198.51.100.9', protocol: 17, id, fragmentOffset: 8 },
          new Uint8Array(8),
        ),
        VNET,
      ),
    );
    expect(core.process(laters, now).verdicts.every((v) => v === Verdict.held)).toBe(true);
    const out = buildUdpPacket(
      { src: '10.0.0.1', dst: '192.0.2.9' },
      { srcPort: 1030, dstPort: 53 },
    );
    core.setPolicy(policies[0]!);
    expect(core.process([withVnetHeader(out, VNET)], now).verdicts).toEqual([Verdict.forward]);
    expect(core.flowCount()).toBe(1);
    const reply = buildUdpPacket({ src: '192.0.2.9', dst: EGRESS }, { srcPort: 53, dstPort: 1030 });
    const back = core.process([withVnetHeader(reply, VNET)], now);
    expect(back.verdicts).toEqual([Verdict.forward]);
    expect(back.packets[0]!.subarray(VNET)).toEqual(
      buildUdpPacket({ src: '192.0.2.9', dst: '10.0.0.1' }, { srcPort: 53, dstPort: 1030 }),
    );
  }, 120_000);
});
