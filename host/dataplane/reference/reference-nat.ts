import { formatIPv4, parseIPv4 } from '../../model/cidr.ts';
import type { NatPolicy } from '../../model/nat-policy.ts';
import { type CounterName, counterNames } from '../counters.ts';
import {
  type BatchResult,
  type FlowRecord,
  type NatEngine,
  type NatEngineConfig,
  Verdict,
} from '../nat-engine.ts';
import { parsePolicy } from '../policy-table-input.ts';
import {
  type FlowStatus,
  initialStatus,
  isExpired,
  nextStatus,
  remainingMs,
  timeoutFor,
} from './flow-state.ts';
import { type Flow, type FlowHit, FlowTable, tupleKey } from './flow-table.ts';
import { type FragmentRewrite, FragmentState, fragmentKey } from './fragments.ts';
import {
  addImportedFlow,
  type ImportOutcome,
  readFlowRecord,
  sameTranslation,
} from './import-flow.ts';
import {
  type IcmpErrorPacket,
  type Ipv4Part,
  parsePacket,
  type TransportPacket,
} from './parse-packet.ts';
import { portHash } from './port-hash.ts';
import { resolveEgress } from './resolve-egress.ts';
import { rewriteAddress, rewriteIcmpError, rewriteTransport } from './rewrite.ts';

/**
 * The reference model of the packet core: assembly/README.md as plain TypeScript, one
 * packet at a time, Maps keyed by strings. The property tests run the same traffic
 * through it and through the compiled core and compare every byte.
 *
 * Readings of the README chosen here, beyond those in flow-state.ts and
 * parse-packet.ts (each listed for the core to match or the README to settle):
 * - Expiry is eager: everything whose expiry has passed is removed at the start of each
 *   batch (now is one value per batch, so this equals removal on lookup), and a
 *   mapping whose flows have all expired is gone with them, its port free. The core
 *   frees an expired flow's mapping only when a lookup or the sweep reaches the flow;
 *   until then a new flow of the same endpoint reuses its port, so the two can differ
 *   in port choice after expiry without a sweepAll. The property tests avoid that.
 * - Flows are found by either tuple, as in the core's single index; a tuple found in
 *   the wrong direction (a pod sending to an address that became an egress address) is
 *   a miss, and outbound it is `no_flow` rather than a second flow on the same tuple.
 * - Expiry and revalidation apply to every lookup that finds a flow, ICMP errors
 *   included; an ICMP error neither refreshes a flow nor changes its state.
 * - An outbound echo reply and an inbound echo request never have a flow (we do not
 *   accept inbound requests): `no_flow`, without a lookup.
 * - An ICMP error whose quoted flow is missing is `no_flow` in both directions.
 * - A first fragment that is not forwarded records nothing and releases nothing; its
 *   held fragments stay until they expire.
 * - Fragment entries are not revalidated after setPolicy; the README names no limit
 *   for entries, so the model has none (the core has 1,024 in 4-way sets).
 * - rx_bytes and forwarded_bytes count the IPv4 bytes of the slot (its length without
 *   the virtio header); forwarded_* count `forward` verdicts only, released fragments
 *   are counted by fragments_released. So rx_packets = forwarded_packets + every drop
 *   counter + fragments_held.
 * - gso_packets counts GSO packets that pass the IPv4 and protocol checks, whatever
 *   their verdict (as the core does); table_swaps counts setPolicy calls;
 *   icmp_errors_translated counts forwarded ICMP errors.
 * - When the table is full, one flow is evicted before the new flow's mapping is taken
 *   (as in the core), even if the new flow then fails for want of a port.
 * - Eviction looks at the first 32 flows in creation order: the core's sweep cursor
 *   cannot be modelled, so flows_evicted and the choice of victim are not compared.
 */
export class ReferenceNat implements NatEngine {
  private readonly config: NatEngineConfig;
  private policy: NatPolicy = { egress: [], rules: [] };
  private egressAddresses = new Set<number>();
  private generation = 0;
  private readonly table = new FlowTable();
  private readonly fragments = new FragmentState();
  private readonly counts = new Map<CounterName, number>(counterNames.map((name) => [name, 0]));

  constructor(config: NatEngineConfig) {
    this.config = config;
  }

  /**
   * Takes a new policy; the flows are rechecked against it on their next packet.
   * Throws PolicyTableError for a policy the core's table compiler would refuse too
   * (same validation), and then keeps the old one.
   */
  setPolicy(policy: NatPolicy): void {
    parsePolicy(policy, new Map(policy.egress?.map((egress, slot) => [egress.ip, slot]) ?? []));
    this.policy = structuredClone(policy);
    this.egressAddresses = new Set(policy.egress.map((egress) => parseIPv4(egress.ip)));
    this.generation += 1;
    this.count('table_swaps');
  }

  process(packets: Uint8Array[], nowMs: number): BatchResult {
    const now = nowMs >>> 0;
    this.sweepAll(now);
    const verdicts: Verdict[] = [];
    const out: Uint8Array[] = [];
    const emitted: Uint8Array[] = [];
    for (const packet of packets) {
      const slot = packet.slice();
      const verdict = this.processOne(slot, now, emitted);
      const ipBytes = Math.max(0, slot.length - this.config.vnetHdrLen);
      this.count('rx_packets');
      this.count('rx_bytes', ipBytes);
      if (verdict === Verdict.forward) {
        this.count('forwarded_packets');
        this.count('forwarded_bytes', ipBytes);
      } else {
        this.count(dropCounter[verdict]);
      }
      verdicts.push(verdict);
      // Dropped and held packets leave as they came.
      out.push(verdict === Verdict.forward ? slot : packet.slice());
    }
    return { verdicts, packets: out, emitted };
  }

  sweepAll(nowMs: number): void {
    const now = nowMs >>> 0;
    this.count('flows_expired', this.table.removeExpired(now));
    this.count('fragments_expired', this.fragments.removeExpired(now));
  }

  counters(): Record<string, bigint> {
    return Object.fromEntries([...this.counts].map(([name, value]) => [name, BigInt(value)]));
  }

  exportFlows(nowMs: number): FlowRecord[] {
    const now = nowMs >>> 0;
    return [...this.table.flows.values()]
      .filter((flow) => !isExpired(flow.expiryMs, now))
      .map((flow) => ({
        proto: flow.proto,
        internalIP: formatIPv4(flow.mapping.internalIP),
        internalPort: flow.mapping.internalPort,
        remoteIP: formatIPv4(flow.remoteIP),
        remotePort: flow.remotePort,
        egressIP: formatIPv4(flow.mapping.egressIP),
        egressPort: flow.mapping.egressPort,
        state: stateByte(flow.status),
        remainingMs: remainingMs(flow.expiryMs, now),
      }));
  }

  importFlows(records: FlowRecord[], nowMs: number): number {
    const now = nowMs >>> 0;
    this.sweepAll(now);
    let taken = 0;
    for (const record of records) {
      const outcome = this.importOne(record, now);
      if (outcome === 'skipped') {
        this.count('flows_import_skipped');
        continue;
      }
      this.count('flows_imported');
      if (outcome === 'created-mapping') this.count('mappings_created');
      taken += 1;
    }
    return taken;
  }

  /** See import-flow.ts for what is skipped and why. */
  private importOne(record: FlowRecord, now: number): ImportOutcome {
    const imported = readFlowRecord(record, this.egressAddresses);
    if (imported === undefined) return 'skipped';
    const { proto, internalIP, remoteIP, internalPort, remotePort } = imported;
    const hit = this.findFlow(proto, internalIP, remoteIP, internalPort, remotePort);
    if (hit !== undefined) {
      // Sent again (periodic replication): refresh it, if it is the same translation.
      if (!sameTranslation(hit.flow, imported)) return 'skipped';
      hit.flow.status = imported.status;
      hit.flow.expiryMs = (now + imported.remainingMs) >>> 0;
      return 'joined-mapping';
    }
    this.makeRoom(now);
    // Made under another node's table: checked against ours on its first packet.
    return addImportedFlow(this.table, imported, now, this.generation - 1);
  }

  /** When the table is full, evicts one flow (README, "Timeouts and states"). */
  private makeRoom(now: number): void {
    if (this.table.size < this.config.maxFlows) return;
    const victim = this.table.evictionVictim(now);
    if (victim === undefined) return;
    this.table.remove(victim);
    this.count('flows_evicted');
  }

  flowCount(): number {
    return this.table.size;
  }

  /**
   * Milliseconds until anything (flow, fragment entry, held fragment) expires; Infinity
   * when nothing is tracked. For the property tests, which keep time steps below it so
   * that the lazily expiring core and this eagerly expiring model stay comparable.
   */
  msUntilFirstExpiry(nowMs: number): number {
    const now = nowMs >>> 0;
    return Math.min(this.table.msUntilFirstExpiry(now), this.fragments.msUntilFirstExpiry(now));
  }

  private count(name: CounterName, by = 1): void {
    this.counts.set(name, this.counts.get(name)! + by);
  }

  private processOne(slot: Uint8Array, now: number, emitted: Uint8Array[]): Verdict {
    const packet = parsePacket(slot, this.config.vnetHdrLen);
    if (packet.gso) this.count('gso_packets');
    switch (packet.kind) {
      case 'drop':
        return packet.verdict;
      case 'later-fragment':
        return this.laterFragment(slot, packet, now);
      case 'transport':
      case 'icmp-error': {
        const result =
          packet.kind === 'transport'
            ? this.translate(slot, packet, now)
            : this.translateIcmpError(slot, packet);
        if (result.verdict !== Verdict.forward) return result.verdict;
        // Errors are about a flow and record nothing, fragment entries included (README).
        if (packet.kind === 'transport' && packet.moreFragments) {
          this.firstFragment(packet, result.rewrite, now, emitted);
        }
        return Verdict.forward;
      }
    }
  }

  /**
   * The flow for a tuple if it is usable now: a flow from before the last setPolicy is
   * checked against the new policy once, and removed if its rule now names another
   * egress address or none.
   */
  private findFlow(
    proto: number,
    src: number,
    dst: number,
    srcPort: number,
    dstPort: number,
  ): FlowHit | undefined {
    const hit = this.table.find(proto, src, dst, srcPort, dstPort);
    if (hit === undefined) return undefined;
    const flow = hit.flow;
    if (flow.generation !== this.generation) {
      const index = resolveEgress(this.policy, flow.mapping.internalIP, flow.remoteIP);
      const egress = index < 0 ? undefined : this.policy.egress[index];
      if (egress === undefined || parseIPv4(egress.ip) !== flow.mapping.egressIP) {
        this.table.remove(flow);
        this.count('flows_invalidated');
        return undefined;
      }
      flow.generation = this.generation;
    }
    return hit;
  }

  private translate(
    slot: Uint8Array,
    packet: TransportPacket,
    now: number,
  ): { verdict: Verdict; rewrite: FragmentRewrite } {
    const inbound = this.egressAddresses.has(packet.dst);
    const none = { field: 'src', address: 0 } as const;
    if ((inbound && packet.echo === 'request') || (!inbound && packet.echo === 'reply')) {
      return { verdict: Verdict.noFlow, rewrite: none };
    }
    const hit = this.findFlow(packet.proto, packet.src, packet.dst, packet.srcPort, packet.dstPort);
    let flow: Flow;
    if (inbound) {
      if (hit === undefined || hit.direction !== 'reply')
        return { verdict: Verdict.noFlow, rewrite: none };
      flow = hit.flow;
    } else if (hit !== undefined) {
      if (hit.direction !== 'original') return { verdict: Verdict.noFlow, rewrite: none };
      flow = hit.flow;
    } else {
      const created = this.createFlow(packet, now);
      if (typeof created === 'number') return { verdict: created, rewrite: none };
      flow = created;
    }
    flow.status = nextStatus(flow.proto, flow.status, !inbound, packet.tcpFlags);
    flow.expiryMs = (now + timeoutFor(flow.proto, flow.status.state, this.config.timeouts)) >>> 0;
    const m = flow.mapping;
    if (inbound) {
      rewriteTransport(slot, packet, false, m.internalIP, m.internalPort);
      return { verdict: Verdict.forward, rewrite: { field: 'dst', address: m.internalIP } };
    }
    rewriteTransport(slot, packet, true, m.egressIP, m.egressPort);
    return { verdict: Verdict.forward, rewrite: { field: 'src', address: m.egressIP } };
  }

  /** Outbound miss: rule, room, mapping, flow. Returns the flow or a drop verdict. */
  private createFlow(packet: TransportPacket, now: number): Flow | Verdict {
    const index = resolveEgress(this.policy, packet.src, packet.dst);
    const egress = index < 0 ? undefined : this.policy.egress[index];
    if (egress === undefined) return Verdict.noPolicy;
    const egressIP = parseIPv4(egress.ip);
    this.makeRoom(now);
    const { proto, src: internalIP, srcPort: internalPort } = packet;
    let mapping = this.table.findMapping(proto, egressIP, internalIP, internalPort);
    if (mapping === undefined) {
      const port = this.choosePort(
        proto,
        egressIP,
        internalIP,
        internalPort,
        egress.portMin,
        egress.portMax,
      );
      if (port < 0) return Verdict.portsExhausted;
      mapping = this.table.createMapping(proto, egressIP, internalIP, internalPort, port);
      this.count('mappings_created');
    }
    // The reply tuple can only be taken by a flow from before its remote became an egress
    // address (a pod that talked to it then); one index cannot hold both.
    const reply = tupleKey(proto, packet.dst, egressIP, packet.dstPort, mapping.egressPort);
    if (this.table.hasTuple(reply)) {
      this.table.discardUnusedMapping(mapping);
      return Verdict.noFlow;
    }
    this.count('flows_created');
    return this.table.add({
      proto,
      mapping,
      remoteIP: packet.dst,
      remotePort: packet.dstPort,
      status: initialStatus(proto, packet.tcpFlags),
      expiryMs: now,
      generation: this.generation,
    });
  }

  /**
   * README "Mappings and ports": keep the internal port when it is in range and free,
   * else scan upward cyclically from portMin + portHash % range size; -1 when all taken.
   */
  private choosePort(
    proto: number,
    egressIP: number,
    internalIP: number,
    internalPort: number,
    portMin: number,
    portMax: number,
  ): number {
    if (
      internalPort >= portMin &&
      internalPort <= portMax &&
      !this.table.portInUse(proto, egressIP, internalPort)
    ) {
      this.count('ports_preserved');
      return internalPort;
    }
    const size = portMax - portMin + 1;
    if (size <= 0) return -1;
    const start = portHash(this.config.seed, internalIP, internalPort, proto) % size;
    for (let i = 0; i < size; i++) {
      const port = portMin + ((start + i) % size);
      if (!this.table.portInUse(proto, egressIP, port)) return port;
    }
    return -1;
  }

  private translateIcmpError(
    slot: Uint8Array,
    packet: IcmpErrorPacket,
  ): { verdict: Verdict; rewrite: FragmentRewrite } {
    const inbound = this.egressAddresses.has(packet.dst);
    const none = { field: 'src', address: 0 } as const;
    // The quoted datagram went the other way: reversed, it is the flow's tuple in the
    // error's own direction.
    const hit = this.findFlow(
      packet.innerProto,
      packet.innerDst,
      packet.innerSrc,
      packet.innerDstPort,
      packet.innerSrcPort,
    );
    if (hit === undefined || hit.direction !== (inbound ? 'reply' : 'original')) {
      return { verdict: Verdict.noFlow, rewrite: none };
    }
    const m = hit.flow.mapping;
    this.count('icmp_errors_translated');
    if (inbound) {
      rewriteIcmpError(slot, packet, true, m.internalIP, m.internalPort);
      return { verdict: Verdict.forward, rewrite: { field: 'dst', address: m.internalIP } };
    }
    rewriteIcmpError(slot, packet, false, m.egressIP, m.egressPort);
    return { verdict: Verdict.forward, rewrite: { field: 'src', address: m.egressIP } };
  }

  /** A forwarded first fragment: record its datagram's rewrite, release what was held. */
  private firstFragment(
    packet: Ipv4Part,
    rewrite: FragmentRewrite,
    now: number,
    emitted: Uint8Array[],
  ): void {
    const key = fragmentKey(packet.src, packet.dst, packet.proto, packet.id);
    this.fragments.record(key, rewrite, (now + this.config.timeouts.fragmentMs) >>> 0);
    for (const held of this.fragments.release(key)) {
      const slot = held.slot.slice();
      rewriteAddress(slot, this.config.vnetHdrLen, rewrite.field, rewrite.address);
      emitted.push(slot);
      this.count('fragments_released');
    }
  }

  private laterFragment(slot: Uint8Array, packet: Ipv4Part, now: number): Verdict {
    const key = fragmentKey(packet.src, packet.dst, packet.proto, packet.id);
    const rewrite = this.fragments.rewriteFor(key, now);
    if (rewrite !== undefined) {
      rewriteAddress(slot, packet.ip, rewrite.field, rewrite.address);
      return Verdict.forward;
    }
    if (!this.fragments.canHold(slot.length - this.config.vnetHdrLen))
      return Verdict.fragmentDropped;
    this.fragments.hold({
      key,
      slot: slot.slice(),
      expiryMs: (now + this.config.timeouts.fragmentMs) >>> 0,
    });
    return Verdict.held;
  }
}

const dropCounter: Record<Exclude<Verdict, 0>, CounterName> = {
  1: 'drop_malformed',
  2: 'drop_unsupported',
  3: 'drop_no_policy',
  4: 'drop_no_flow',
  5: 'drop_ports_exhausted',
  6: 'fragments_held',
  7: 'drop_fragment',
};

/** The state byte as the core keeps and exports it (assembly/README.md, state codes). */
function stateByte(status: FlowStatus): number {
  return (
    status.state |
    (status.replied ? 0x08 : 0) |
    (status.finOutbound ? 0x10 : 0) |
    (status.finInbound ? 0x20 : 0)
  );
}
