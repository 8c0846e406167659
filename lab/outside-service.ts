/**
 * The outside server as seen from the lab: the process, and what it has reported so far
 * (per-transport counts and the sources it saw, newest last).
 */

import { parseServerEvent, parseSourceLine, type SeenSource } from './outside-protocol.ts';
import type { LabProcess } from './process.ts';

// Bounded so that a long failover run cannot grow memory without limit.
const MAX_REMEMBERED = 10_000;

export interface SeenEvent {
  transport: 'tcp' | 'udp';
  source: SeenSource;
  /** Date.now() when the lab read the event. */
  atMs: number;
}

export class OutsideServer {
  readonly process: LabProcess;
  readonly port: number;
  readonly counts = { tcp: 0, udp: 0 };
  readonly seen: SeenEvent[] = [];

  constructor(process: LabProcess, port: number) {
    this.process = process;
    this.port = port;
    process.onLine((line, stream) => {
      if (stream !== 'stdout') return;
      const event = parseServerEvent(line);
      if (event === undefined || event.event === 'listening') return;
      this.counts[event.event] = event.count;
      this.seen.push({
        transport: event.event,
        source: parseSourceLine(event.source),
        atMs: Date.now(),
      });
      if (this.seen.length > MAX_REMEMBERED) this.seen.splice(0, this.seen.length - MAX_REMEMBERED);
    });
  }

  /** Distinct source IPs seen since `sinceMs` (Date.now() scale). */
  sourceIpsSince(sinceMs: number): string[] {
    const ips = new Set<string>();
    for (const event of this.seen) if (event.atMs >= sinceMs) ips.add(event.source.ip);
    return [...ips];
  }
}
