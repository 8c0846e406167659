import { describe, expect, it } from 'vitest';
import type { HeartbeatPacket } from './heartbeat-packet.ts';
import { type LivenessEvent, PeerTable, type ReceiveResult } from './peer-liveness.ts';

const options = { deadAfterMs: 350, riseCount: 3 };

function beat(sequence: number, extra: Partial<HeartbeatPacket> = {}): HeartbeatPacket {
  return {
    node: 'gw-b',
    incarnation: 1000,
    sequence,
    leaving: false,
    eligible: true,
    claims: [],
    view: [],
    ...extra,
  };
}

/** The events of an accepted packet; fails the test if the packet was dropped. */
function events(result: ReceiveResult): LivenessEvent[] {
  if (!result.accepted) throw new Error(`dropped: ${result.reason}`);
  return result.events;
}

function types(events: LivenessEvent[]): string[] {
  return events.map((event) => event.type);
}

/** A table with gw-b added at 0 and brought alive by beats at 0, 100, 200. */
function alivePeer(): PeerTable {
  const table = new PeerTable(options);
  table.setPeers(['gw-b'], 0);
  for (const [i, at] of [0, 100, 200].entries()) table.receive(beat(i + 1), at);
  return table;
}

describe('PeerTable', () => {
  it('turns a peer alive after riseCount heartbeats', () => {
    const table = new PeerTable(options);
    table.setPeers(['gw-b'], 0);
    expect(table.receive(beat(1), 10)).toEqual({ accepted: true, events: [] });
    expect(table.receive(beat(2), 110)).toEqual({ accepted: true, events: [] });
    expect(table.receive(beat(3), 210)).toEqual({
      accepted: true,
      events: [{ type: 'alive', node: 'gw-b', at: 210 }],
    });
    expect(table.get('gw-b')?.state).toBe('alive');
  });

  it('turns an alive peer dead when the window runs out, dated at the window end', () => {
    const table = alivePeer();
    expect(table.sweep(550)).toEqual([]);
    expect(table.sweep(575)).toEqual([
      { type: 'dead', node: 'gw-b', at: 550, lastHeardAt: 200, leaving: false },
    ]);
    expect(table.get('gw-b')?.deadSince).toBe(550);
    expect(table.sweep(600)).toEqual([]);
  });

  it('tolerates lost packets inside the window', () => {
    const table = alivePeer();
    // Beats 4..6 lost; beat 7 arrives 340 ms after beat 3.
    table.receive(beat(7), 540);
    expect(table.sweep(800)).toEqual([]);
    expect(table.get('gw-b')?.state).toBe('alive');
  });

  it('marks a peer never heard dead after one window, with no last heartbeat', () => {
    const table = new PeerTable(options);
    table.setPeers(['gw-b'], 1000);
    expect(table.get('gw-b')?.state).toBe('unknown');
    expect(table.sweep(1351)).toEqual([
      { type: 'dead', node: 'gw-b', at: 1350, lastHeardAt: null, leaving: false },
    ]);
  });

  it('needs a fresh streak to come back, and a gap resets it', () => {
    const table = alivePeer();
    table.sweep(600);
    table.receive(beat(4), 1000);
    table.receive(beat(5), 1100);
    table.sweep(1500); // gap: the streak starts over
    table.receive(beat(6), 1500);
    expect(types(events(table.receive(beat(7), 1600)))).toEqual([]);
    expect(events(table.receive(beat(8), 1700))).toEqual([
      { type: 'alive', node: 'gw-b', at: 1700 },
    ]);
  });

  it('drops repeated and older sequences of one incarnation', () => {
    const table = alivePeer();
    expect(table.receive(beat(3), 250)).toEqual({ accepted: false, reason: 'old_sequence' });
    expect(table.receive(beat(2), 250)).toEqual({ accepted: false, reason: 'old_sequence' });
    expect(table.get('gw-b')?.lastHeardAt).toBe(200);
  });

  it('reports a restart (greater incarnation) and keeps a peer that restarted fast alive', () => {
    const table = alivePeer();
    const result = table.receive(beat(1, { incarnation: 2000 }), 300);
    expect(result).toEqual({
      accepted: true,
      events: [{ type: 'restarted', node: 'gw-b', incarnation: 2000, previousIncarnation: 1000 }],
    });
    expect(table.get('gw-b')?.state).toBe('alive');
    expect(table.receive(beat(4), 350)).toEqual({ accepted: false, reason: 'stale_incarnation' });
  });

  it('accepts a smaller incarnation from a dead peer (its clock went back while down)', () => {
    const table = alivePeer();
    table.sweep(600);
    const result = table.receive(beat(1, { incarnation: 10 }), 5000);
    expect(result.accepted).toBe(true);
    expect(table.get('gw-b')?.incarnation).toBe(10);
  });

  it('drops packets from nodes that are not peers', () => {
    const table = alivePeer();
    expect(table.receive(beat(9, { node: 'gw-x' }), 250)).toEqual({
      accepted: false,
      reason: 'unknown_peer',
    });
  });

  it('reports claim changes and turns a leaving peer dead at once', () => {
    const table = alivePeer();
    expect(events(table.receive(beat(4, { claims: ['EgressGateway/a'] }), 300))).toEqual([
      { type: 'claims', node: 'gw-b', claims: ['EgressGateway/a'] },
    ]);
    expect(events(table.receive(beat(5, { claims: ['EgressGateway/a'] }), 400))).toEqual([]);
    expect(events(table.receive(beat(6, { leaving: true }), 420))).toEqual([
      { type: 'claims', node: 'gw-b', claims: [] },
      { type: 'dead', node: 'gw-b', at: 420, lastHeardAt: 420, leaving: true },
    ]);
  });

  it('reports eligibility changes and keeps an ineligible peer alive', () => {
    const table = alivePeer();
    expect(events(table.receive(beat(4, { eligible: false }), 300))).toEqual([
      { type: 'eligible', node: 'gw-b', eligible: false },
    ]);
    expect(table.get('gw-b')).toMatchObject({ state: 'alive', eligible: false });
    expect(events(table.receive(beat(5, { eligible: true }), 400))).toEqual([
      { type: 'eligible', node: 'gw-b', eligible: true },
    ]);
  });

  it('keeps the state of kept peers and forgets removed ones when the list changes', () => {
    const table = alivePeer();
    table.setPeers(['gw-b', 'gw-c'], 250);
    expect(table.snapshot().map((p) => [p.node, p.state])).toEqual([
      ['gw-b', 'alive'],
      ['gw-c', 'unknown'],
    ]);
    table.setPeers(['gw-c'], 260);
    expect(table.get('gw-b')).toBeUndefined();
  });
});
