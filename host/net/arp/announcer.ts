import { parseIPv4 } from '../../model/cidr.ts';
import { ARP_REPLY, ARP_REQUEST, BROADCAST_MAC, buildArpFrame } from './frame.ts';
import type { ArpSender } from './responder.ts';

/**
 * How long and how often a newly taken address is announced.
 *
 * The interval is just over one second because of the neighbour `locktime`
 * (net.ipv4.neigh.<dev>.locktime, 1 s by default): arp_process() lets an ARP packet
 * override an existing entry only if the entry was last updated more than locktime ago.
 * Linux before 4.13 applied that to gratuitous ARP too ("arp: always override existing
 * neigh entries with gratuitous ARP" lifted it), and hosts that last refreshed the entry
 * from the old owner a moment before a failover would ignore a single announcement;
 * repeats 1.1 s apart are each past locktime, so one of them lands. Five seconds of
 * repeats (MetalLB's internal/layer2/announcer.go spam(), same 1.1 s step) also cover
 * frames lost while switches move the MAC between ports.
 */
export interface AnnounceTiming {
  intervalMs: number;
  durationMs: number;
}

export const defaultAnnounceTiming: AnnounceTiming = { intervalMs: 1100, durationMs: 5000 };

export interface AnnounceFailure {
  ip: string;
  interfaceName: string;
  error: Error;
}

/**
 * The set of addresses this node answers for, reference-counted by owner (a gateway, an
 * Egress): an owner adding the address it already holds changes nothing, and an address
 * shared by two owners stays until both have removed it. When an address enters the set
 * it is announced at once and then repeatedly for a few seconds (gratuitous ARP, a
 * request and a reply, on every interface); when it leaves, its repeats stop.
 * `owns` is the predicate the responders take.
 *
 * Invariants: `ownerAddress` and `refCounts` describe the same assignment
 * (refCounts[ip] = number of owners whose address is ip, entries > 0 only); an address
 * has a repeat timer only while its count is > 0.
 */
export class ArpAnnouncer {
  private readonly senders: ArpSender[];
  private readonly timing: AnnounceTiming;
  private readonly onFailure: ((failure: AnnounceFailure) => void) | undefined;
  private readonly ownerAddress = new Map<string, string>();
  private readonly refCounts = new Map<string, number>();
  private readonly repeats = new Map<string, NodeJS.Timeout>();

  constructor(
    senders: ArpSender[],
    timing: AnnounceTiming = defaultAnnounceTiming,
    onFailure?: (failure: AnnounceFailure) => void,
  ) {
    this.senders = senders;
    this.timing = timing;
    this.onFailure = onFailure;
  }

  /** `owner` now holds `ip` (replacing any address it held before). */
  add(owner: string, ip: string): void {
    parseIPv4(ip); // throws CidrError EGW_BAD_IP before anything changes
    const held = this.ownerAddress.get(owner);
    if (held === ip) return;
    if (held !== undefined) this.remove(owner);
    this.ownerAddress.set(owner, ip);
    const count = (this.refCounts.get(ip) ?? 0) + 1;
    this.refCounts.set(ip, count);
    if (count === 1) this.startAnnouncing(ip);
  }

  /** `owner` no longer holds an address; unknown owners are ignored. */
  remove(owner: string): void {
    const ip = this.ownerAddress.get(owner);
    if (ip === undefined) return;
    this.ownerAddress.delete(owner);
    const count = (this.refCounts.get(ip) ?? 1) - 1;
    if (count > 0) {
      this.refCounts.set(ip, count);
      return;
    }
    this.refCounts.delete(ip);
    this.stopAnnouncing(ip);
  }

  /** Whether this node answers for `ip`; pass it to the responders. */
  readonly owns = (ip: string): boolean => this.refCounts.has(ip);

  /** How many owners hold `ip`. */
  refCount(ip: string): number {
    return this.refCounts.get(ip) ?? 0;
  }

  addresses(): string[] {
    return [...this.refCounts.keys()].sort();
  }

  /** Stops every repeat; the set is kept. */
  close(): void {
    for (const ip of [...this.repeats.keys()]) this.stopAnnouncing(ip);
  }

  /** Sends one round of gratuitous ARP for `ip` on every interface now. */
  announce(ip: string): void {
    for (const sender of this.senders) {
      for (const operation of [ARP_REQUEST, ARP_REPLY]) {
        // MetalLB's form: sender = target = the address, target MAC broadcast.
        const frame = buildArpFrame({
          ethDestination: BROADCAST_MAC,
          ethSource: sender.mac,
          operation,
          senderMac: sender.mac,
          senderIp: ip,
          targetMac: BROADCAST_MAC,
          targetIp: ip,
        });
        try {
          sender.send(frame);
        } catch (err) {
          const error = err instanceof Error ? err : new Error(String(err));
          this.onFailure?.({ ip, interfaceName: sender.interfaceName, error });
        }
      }
    }
  }

  private startAnnouncing(ip: string): void {
    this.announce(ip);
    const started = Date.now();
    const timer = setInterval(() => {
      this.announce(ip);
      if (Date.now() - started + this.timing.intervalMs > this.timing.durationMs) {
        this.stopAnnouncing(ip);
      }
    }, this.timing.intervalMs);
    timer.unref();
    this.repeats.set(ip, timer);
  }

  private stopAnnouncing(ip: string): void {
    const timer = this.repeats.get(ip);
    if (timer === undefined) return;
    clearInterval(timer);
    this.repeats.delete(ip);
  }
}
