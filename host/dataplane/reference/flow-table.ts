import { evictionClass, type FlowStatus, isExpired, remainingMs } from './flow-state.ts';

/**
 * Flows, mappings and ports of the reference model, in plain Maps keyed by strings.
 *
 * Invariants:
 * - every flow is in `byTuple` under exactly its original and its reply tuple, and
 *   nothing else is there;
 * - every flow holds one reference on its mapping; a mapping's `flows` is the number of
 *   flows that name it, never 0 (the last flow's removal frees the mapping);
 * - a mapping's egress port is in `portsInUse` for its (egress address, proto), and a
 *   port is there only while a mapping holds it;
 * - `flows` keeps creation order: that order stands in for the core's sweep cursor
 *   when choosing a flow to evict.
 */

export interface Mapping {
  proto: number;
  egressIP: number;
  internalIP: number;
  internalPort: number;
  egressPort: number;
  flows: number;
}

export interface Flow {
  id: number;
  proto: number;
  mapping: Mapping;
  remoteIP: number;
  remotePort: number;
  status: FlowStatus;
  expiryMs: number;
  /** The policy generation this flow was last checked against. */
  generation: number;
}

export type Direction = 'original' | 'reply';

export interface FlowHit {
  flow: Flow;
  direction: Direction;
}

export function tupleKey(
  proto: number,
  src: number,
  dst: number,
  srcPort: number,
  dstPort: number,
): string {
  return `${proto}|${src}|${dst}|${srcPort}|${dstPort}`;
}

export function originalKey(flow: Flow): string {
  const m = flow.mapping;
  return tupleKey(flow.proto, m.internalIP, flow.remoteIP, m.internalPort, flow.remotePort);
}

export function replyKey(flow: Flow): string {
  const m = flow.mapping;
  return tupleKey(flow.proto, flow.remoteIP, m.egressIP, flow.remotePort, m.egressPort);
}

function mappingKey(
  proto: number,
  egressIP: number,
  internalIP: number,
  internalPort: number,
): string {
  return `${proto}|${egressIP}|${internalIP}|${internalPort}`;
}

function portsKey(proto: number, egressIP: number): string {
  return `${proto}|${egressIP}`;
}

/** How many flows eviction looks at (assembly/README.md). */
export const EVICTION_WINDOW = 32;

export class FlowTable {
  readonly flows = new Map<number, Flow>();
  private readonly byTuple = new Map<string, FlowHit>();
  private readonly mappings = new Map<string, Mapping>();
  private readonly portsInUse = new Map<string, Set<number>>();
  private nextId = 1;

  get size(): number {
    return this.flows.size;
  }

  find(
    proto: number,
    src: number,
    dst: number,
    srcPort: number,
    dstPort: number,
  ): FlowHit | undefined {
    return this.byTuple.get(tupleKey(proto, src, dst, srcPort, dstPort));
  }

  /** Whether a flow is found by this tuple key (tupleKey). */
  hasTuple(key: string): boolean {
    return this.byTuple.has(key);
  }

  findMapping(
    proto: number,
    egressIP: number,
    internalIP: number,
    internalPort: number,
  ): Mapping | undefined {
    return this.mappings.get(mappingKey(proto, egressIP, internalIP, internalPort));
  }

  portInUse(proto: number, egressIP: number, port: number): boolean {
    return this.portsInUse.get(portsKey(proto, egressIP))?.has(port) ?? false;
  }

  /** A mapping with no flows yet; the first flow added takes its first reference. */
  createMapping(
    proto: number,
    egressIP: number,
    internalIP: number,
    internalPort: number,
    egressPort: number,
  ): Mapping {
    const mapping = { proto, egressIP, internalIP, internalPort, egressPort, flows: 0 };
    this.mappings.set(mappingKey(proto, egressIP, internalIP, internalPort), mapping);
    const key = portsKey(proto, egressIP);
    let ports = this.portsInUse.get(key);
    if (ports === undefined) {
      ports = new Set();
      this.portsInUse.set(key, ports);
    }
    ports.add(egressPort);
    return mapping;
  }

  /** Undoes createMapping for a mapping that no flow took after all. */
  discardUnusedMapping(mapping: Mapping): void {
    if (mapping.flows !== 0) return;
    this.mappings.delete(
      mappingKey(mapping.proto, mapping.egressIP, mapping.internalIP, mapping.internalPort),
    );
    this.portsInUse.get(portsKey(mapping.proto, mapping.egressIP))?.delete(mapping.egressPort);
  }

  add(fields: Omit<Flow, 'id'>): Flow {
    const flow: Flow = { ...fields, id: this.nextId++ };
    flow.mapping.flows += 1;
    this.flows.set(flow.id, flow);
    this.byTuple.set(originalKey(flow), { flow, direction: 'original' });
    this.byTuple.set(replyKey(flow), { flow, direction: 'reply' });
    return flow;
  }

  remove(flow: Flow): void {
    this.flows.delete(flow.id);
    this.byTuple.delete(originalKey(flow));
    this.byTuple.delete(replyKey(flow));
    const m = flow.mapping;
    m.flows -= 1;
    this.discardUnusedMapping(m);
  }

  /** Removes every expired flow; returns how many. */
  removeExpired(nowMs: number): number {
    let removed = 0;
    for (const flow of [...this.flows.values()]) {
      if (isExpired(flow.expiryMs, nowMs)) {
        this.remove(flow);
        removed += 1;
      }
    }
    return removed;
  }

  /** Milliseconds until the first flow expires (Infinity with no flows). */
  msUntilFirstExpiry(nowMs: number): number {
    let soonest = Number.POSITIVE_INFINITY;
    for (const flow of this.flows.values())
      soonest = Math.min(soonest, remainingMs(flow.expiryMs, nowMs));
    return soonest;
  }

  /**
   * Picks the flow to evict among the first EVICTION_WINDOW in creation order: the first
   * closing one, else the first unreplied one, else the one that expires soonest.
   */
  evictionVictim(nowMs: number): Flow | undefined {
    let best: Flow | undefined;
    let bestClass = 3;
    let seen = 0;
    for (const flow of this.flows.values()) {
      if (seen++ === EVICTION_WINDOW) break;
      const cls = evictionClass(flow.status);
      const better =
        cls < bestClass ||
        (cls === 2 &&
          bestClass === 2 &&
          remainingMs(flow.expiryMs, nowMs) < remainingMs(best!.expiryMs, nowMs));
      if (better) {
        best = flow;
        bestClass = cls;
      }
    }
    return best;
  }
}
