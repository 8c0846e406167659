import { createSocket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { isElectionError } from './errors.ts';
import { Heartbeat, type HeartbeatPeer } from './heartbeat.ts';
import { encodeHeartbeat } from './heartbeat-packet.ts';
import type { LivenessEvent } from './peer-liveness.ts';

const secret = 'loopback-test-secret';
const running: Heartbeat[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((hb) => hb.stop()));
});

/** Starts one agent per name on 127.0.0.(i+1), port chosen by the kernel, all peered. */
async function cluster(names: string[]): Promise<{ agents: Heartbeat[]; peers: HeartbeatPeer[] }> {
  const agents = names.map(
    (node, i) => new Heartbeat({ node, address: `127.0.0.${i + 1}`, port: 0, secret }),
  );
  running.push(...agents);
  const peers: HeartbeatPeer[] = [];
  for (const [i, agent] of agents.entries()) {
    const { address, port } = await agent.start();
    peers.push({ node: names[i]!, address, port });
  }
  for (const agent of agents) agent.setPeers(peers);
  await waitFor(() => agents.every((a) => peers.every((p) => a.isAlive(p.node))), 2000);
  return { agents, peers };
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`condition not met in ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function nextEvent(
  agent: Heartbeat,
  match: (event: LivenessEvent) => boolean,
): Promise<LivenessEvent> {
  return new Promise((resolve) => {
    const listener = (event: LivenessEvent): void => {
      if (!match(event)) return;
      agent.off('liveness', listener);
      resolve(event);
    };
    agent.on('liveness', listener);
  });
}

describe('Heartbeat over loopback', () => {
  it('brings peers alive and carries claims and views', async () => {
    const { agents } = await cluster(['gw-a', 'gw-b', 'gw-c']);
    const [a, b] = agents as [Heartbeat, Heartbeat];
    const claims = nextEvent(b, (e) => e.type === 'claims' && e.node === 'gw-a');
    a.setClaims(['EgressGateway/x']);
    expect(await claims).toEqual({ type: 'claims', node: 'gw-a', claims: ['EgressGateway/x'] });
    await waitFor(() => b.peer('gw-a')?.view.length === 2, 500);
    expect(b.peer('gw-a')?.view).toEqual([
      { node: 'gw-b', state: 'alive' },
      { node: 'gw-c', state: 'alive' },
    ]);
    expect(b.snapshot().drops).toEqual({});
  });

  it('detects a killed peer within the dead window plus one sweep', async () => {
    const { agents } = await cluster(['gw-a', 'gw-b', 'gw-c']);
    const [a, b, c] = agents as [Heartbeat, Heartbeat, Heartbeat];
    const deadAtB = nextEvent(b, (e) => e.type === 'dead' && e.node === 'gw-a');
    const deadAtC = nextEvent(c, (e) => e.type === 'dead' && e.node === 'gw-a');
    const killedAt = performance.now();
    await a.stop(); // no goodbye: like a crash
    const [atB, atC] = await Promise.all([deadAtB, deadAtC]);
    const detectedMs = performance.now() - killedAt;
    const sinceLastHeartbeat = b.now() - (atB.type === 'dead' ? atB.lastHeardAt! : 0);
    console.log(
      `heartbeat: killed peer detected after ${detectedMs.toFixed(0)} ms ` +
        `(${sinceLastHeartbeat.toFixed(0)} ms after its last heartbeat)`,
    );
    // Dead window 350 ms + sweep 25 ms, with room for a loaded 2-core machine.
    expect(sinceLastHeartbeat).toBeGreaterThanOrEqual(350);
    expect(sinceLastHeartbeat).toBeLessThan(500);
    expect(atC.type).toBe('dead');
    expect(b.isAlive('gw-a')).toBe(false);
    expect(b.isAlive('gw-c')).toBe(true);
  });

  it('sends its new view at once when a peer turns dead, not at the next interval', async () => {
    const { agents } = await cluster(['gw-a', 'gw-b', 'gw-c']);
    const [a, b, c] = agents as [Heartbeat, Heartbeat, Heartbeat];
    // The sweep that turns gw-a dead emits the event, then sends: a microtask queued
    // from the listener runs after that sweep and before any other timer.
    const sequences = new Promise<[number, number]>((resolve) => {
      const listener = (event: LivenessEvent): void => {
        if (event.type !== 'dead' || event.node !== 'gw-a') return;
        c.off('liveness', listener);
        const before = c.snapshot().sequence;
        queueMicrotask(() => resolve([before, c.snapshot().sequence]));
      };
      c.on('liveness', listener);
    });
    await a.stop();
    const [before, after] = await sequences;
    expect(after).toBe(before + 1);
    await waitFor(() => b.peer('gw-c')?.view.find((v) => v.node === 'gw-a')?.state === 'dead', 200);
  });

  it('sees a restarted peer come back alive with a new incarnation', async () => {
    const { agents, peers } = await cluster(['gw-a', 'gw-b']);
    const [a, b] = agents as [Heartbeat, Heartbeat];
    const dead = nextEvent(b, (e) => e.type === 'dead');
    await a.stop();
    await dead;
    const restarted = nextEvent(b, (e) => e.type === 'restarted');
    const alive = nextEvent(b, (e) => e.type === 'alive');
    const again = new Heartbeat({
      node: 'gw-a',
      address: peers[0]!.address,
      port: peers[0]!.port,
      secret,
      peers,
      incarnation: a.incarnation + 1,
    });
    running.push(again);
    const startedAt = performance.now();
    await again.start();
    expect(await restarted).toMatchObject({ node: 'gw-a', incarnation: a.incarnation + 1 });
    await alive;
    const riseMs = performance.now() - startedAt;
    // Three heartbeats, 100 ms apart, the first sent at start.
    expect(riseMs).toBeGreaterThanOrEqual(190);
    expect(riseMs).toBeLessThan(600);
  });

  it('detects a partitioned peer that stops sending, and its return', async () => {
    const { agents, peers } = await cluster(['gw-a', 'gw-b', 'gw-c']);
    const [a, b] = agents as [Heartbeat, Heartbeat];
    const dead = nextEvent(b, (e) => e.type === 'dead' && e.node === 'gw-a');
    a.setPeers([]); // gw-a now sends to nobody
    const event = await dead;
    expect(event).toMatchObject({ type: 'dead', leaving: false });
    const back = nextEvent(b, (e) => e.type === 'alive' && e.node === 'gw-a');
    a.setPeers(peers);
    await back;
    expect(b.snapshot().peers.map((p) => [p.node, p.state])).toEqual([
      ['gw-a', 'alive'],
      ['gw-c', 'alive'],
    ]);
  });

  it('keeps a peer alive through packet loss up to the window, and not beyond', async () => {
    const { agents, peers } = await cluster(['gw-a', 'gw-b']);
    const [a, b] = agents as [Heartbeat, Heartbeat];
    // gw-a reaches gw-b only through a relay on 127.0.0.9 that drops what `drop` says.
    const relay = createSocket('udp4');
    await new Promise<void>((resolve) => relay.bind(0, '127.0.0.9', resolve));
    let forwarded = 0;
    let drop = (n: number): boolean => n % 2 !== 0; // every other one lost: 200 ms gaps
    relay.on('message', (bytes) => {
      if (!drop(forwarded++)) relay.send(bytes, peers[1]!.port, peers[1]!.address);
    });
    try {
      a.setPeers([peers[0]!, { ...peers[1]!, ...relay.address() }]);
      await sleep(1000);
      expect(b.isAlive('gw-a')).toBe(true);
      const dead = nextEvent(b, (e) => e.type === 'dead');
      drop = (n: number): boolean => n % 5 !== 0; // four of every five: 500 ms gaps
      expect(await dead).toMatchObject({ node: 'gw-a', leaving: false });
    } finally {
      relay.close();
    }
  });

  it('turns a peer that says goodbye dead at once', async () => {
    const { agents } = await cluster(['gw-a', 'gw-b']);
    const [a, b] = agents as [Heartbeat, Heartbeat];
    const dead = nextEvent(b, (e) => e.type === 'dead');
    const stoppedAt = performance.now();
    await a.stop({ goodbye: true });
    expect(await dead).toMatchObject({ node: 'gw-a', leaving: true });
    expect(performance.now() - stoppedAt).toBeLessThan(100);
  });

  it('ignores stray datagrams, other secrets, replays and its own name', async () => {
    const { agents, peers } = await cluster(['gw-a', 'gw-b']);
    const b = agents[1]!;
    const target = peers[1]!;
    const sender = createSocket('udp4');
    const send = (bytes: Buffer): Promise<void> =>
      new Promise((resolve) => sender.send(bytes, target.port, target.address, () => resolve()));
    const forged = (key: string, node: string, sequence: number): Buffer =>
      encodeHeartbeat(
        { node, incarnation: 1, sequence, leaving: true, eligible: true, claims: [], view: [] },
        Buffer.from(key),
      );
    try {
      await send(Buffer.alloc(100, 0x41)); // long enough to get past the length check
      await send(forged('wrong-secret', 'gw-a', 1));
      await send(forged(secret, 'gw-b', 1));
      await send(forged(secret, 'gw-z', 1));
      // A leaving packet from an old incarnation of an alive peer: stale, not a goodbye.
      await send(forged(secret, 'gw-a', 99));
      await waitFor(() => Object.values(b.snapshot().drops).reduce((x, y) => x + y, 0) >= 5, 500);
    } finally {
      sender.close();
    }
    expect(b.snapshot().drops).toEqual({
      bad_magic: 1,
      bad_mac: 1,
      own_node: 1,
      unknown_peer: 1,
      stale_incarnation: 1,
    });
    expect(b.isAlive('gw-a')).toBe(true);
  });

  it('reports bind failures and bad options with coded errors', async () => {
    const { peers } = await cluster(['gw-a']);
    const clash = new Heartbeat({
      node: 'gw-b',
      address: peers[0]!.address,
      port: peers[0]!.port,
      secret,
    });
    const failure = await clash.start().catch((error: unknown) => error);
    expect(isElectionError(failure, 'EGW_HEARTBEAT_SOCKET')).toBe(true);

    const bad = [
      () => new Heartbeat({ node: 'gw-a', address: '127.0.0.1', port: 0, secret: '' }),
      () => new Heartbeat({ node: 'GW', address: '127.0.0.1', port: 0, secret }),
      () => new Heartbeat({ node: 'gw-a', address: 'localhost', port: 0, secret }),
      () => new Heartbeat({ node: 'gw-a', address: '127.0.0.1', port: 0, secret, deadAfterMs: 50 }),
      () =>
        new Heartbeat({
          node: 'gw-a',
          address: '127.0.0.1',
          port: 0,
          secret,
          peers: [{ node: 'gw-b', address: '127.0.0.2', port: 0 }],
        }),
    ];
    for (const make of bad) {
      let caught: unknown;
      try {
        make();
      } catch (error) {
        caught = error;
      }
      expect(isElectionError(caught, 'EGW_ELECTION_CONFIG')).toBe(true);
    }
  });
});
