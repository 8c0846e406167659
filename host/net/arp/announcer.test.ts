import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type AnnounceFailure, ArpAnnouncer, defaultAnnounceTiming } from './announcer.ts';
import { ARP_REPLY, ARP_REQUEST, parseArpFrame } from './frame.ts';
import type { ArpSender } from './responder.ts';

class RecordingSender implements ArpSender {
  readonly interfaceName: string;
  readonly mac: string;
  readonly sent: Uint8Array[] = [];
  failing = false;

  constructor(interfaceName: string, mac: string) {
    this.interfaceName = interfaceName;
    this.mac = mac;
  }

  send(frame: Uint8Array): void {
    if (this.failing) throw new Error('sendto: ENETDOWN');
    this.sent.push(frame.slice());
  }

  /** [operation, senderIp] of every frame sent. */
  rounds(): [number, string][] {
    return this.sent.map((f) => {
      const arp = parseArpFrame(f)!;
      return [arp.operation, arp.senderIp];
    });
  }
}

describe('ArpAnnouncer', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('announces a new address at once with a request and a reply on every interface', () => {
    const eth0 = new RecordingSender('eth0', '02:00:00:00:00:0a');
    const eth1 = new RecordingSender('eth1', '02:00:00:00:00:0b');
    const announcer = new ArpAnnouncer([eth0, eth1]);
    announcer.add('gateway/a', '10.79.0.100');
    for (const sender of [eth0, eth1]) {
      expect(sender.rounds()).toEqual([
        [ARP_REQUEST, '10.79.0.100'],
        [ARP_REPLY, '10.79.0.100'],
      ]);
      const arp = parseArpFrame(sender.sent[0]!)!;
      expect(arp.ethDestination).toBe('ff:ff:ff:ff:ff:ff');
      expect(arp.ethSource).toBe(sender.mac);
      expect(arp.senderMac).toBe(sender.mac);
      expect(arp.targetIp).toBe('10.79.0.100');
    }
    announcer.close();
  });

  it('repeats every 1.1 s for 5 s, then stops', () => {
    const eth0 = new RecordingSender('eth0', '02:00:00:00:00:0a');
    const announcer = new ArpAnnouncer([eth0]);
    announcer.add('gateway/a', '10.79.0.100');
    vi.advanceTimersByTime(defaultAnnounceTiming.intervalMs);
    expect(eth0.sent).toHaveLength(4);
    vi.advanceTimersByTime(20_000);
    // Rounds at 0, 1.1, 2.2, 3.3 and 4.4 s.
    expect(eth0.sent).toHaveLength(10);
    expect(announcer.owns('10.79.0.100')).toBe(true);
  });

  it('counts owners: a repeated add changes nothing, a shared address stays', () => {
    const eth0 = new RecordingSender('eth0', '02:00:00:00:00:0a');
    const announcer = new ArpAnnouncer([eth0]);
    announcer.add('gateway/a', '10.79.0.100');
    announcer.add('gateway/a', '10.79.0.100');
    expect(announcer.refCount('10.79.0.100')).toBe(1);
    announcer.add('egress/b', '10.79.0.100');
    expect(announcer.refCount('10.79.0.100')).toBe(2);
    expect(eth0.sent).toHaveLength(2); // announced once, when it entered the set
    announcer.remove('gateway/a');
    expect(announcer.owns('10.79.0.100')).toBe(true);
    announcer.remove('gateway/a');
    expect(announcer.refCount('10.79.0.100')).toBe(1);
    announcer.remove('egress/b');
    expect(announcer.owns('10.79.0.100')).toBe(false);
    expect(announcer.addresses()).toEqual([]);
  });

  it('stops repeating an address once it is released', () => {
    const eth0 = new RecordingSender('eth0', '02:00:00:00:00:0a');
    const announcer = new ArpAnnouncer([eth0]);
    announcer.add('gateway/a', '10.79.0.100');
    announcer.remove('gateway/a');
    vi.advanceTimersByTime(10_000);
    expect(eth0.sent).toHaveLength(2);
  });

  it('moves an owner to its new address', () => {
    const eth0 = new RecordingSender('eth0', '02:00:00:00:00:0a');
    const announcer = new ArpAnnouncer([eth0]);
    announcer.add('gateway/a', '10.79.0.100');
    announcer.add('gateway/a', '10.79.0.101');
    expect(announcer.addresses()).toEqual(['10.79.0.101']);
    expect(eth0.rounds().map(([, ip]) => ip)).toEqual([
      '10.79.0.100',
      '10.79.0.100',
      '10.79.0.101',
      '10.79.0.101',
    ]);
    announcer.close();
  });

  it('refuses a bad address without changing the set', () => {
    const announcer = new ArpAnnouncer([]);
    expect(() => announcer.add('gateway/a', '10.79.0')).toThrow(
      expect.objectContaining({ code: 'EGW_BAD_IP' }),
    );
    expect(announcer.addresses()).toEqual([]);
  });

  it('reports send failures per interface and keeps announcing on the others', () => {
    const down = new RecordingSender('eth0', '02:00:00:00:00:0a');
    const up = new RecordingSender('eth1', '02:00:00:00:00:0b');
    down.failing = true;
    const failures: AnnounceFailure[] = [];
    const announcer = new ArpAnnouncer([down, up], defaultAnnounceTiming, (f) => failures.push(f));
    announcer.add('gateway/a', '10.79.0.100');
    expect(failures.map((f) => [f.interfaceName, f.ip])).toEqual([
      ['eth0', '10.79.0.100'],
      ['eth0', '10.79.0.100'],
    ]);
    expect(up.sent).toHaveLength(2);
    announcer.close();
  });
});
