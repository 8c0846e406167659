import { createSocket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../../test/support/apiserver/testing.ts';
import { LeaseClient } from '../k8s/leases.ts';
import { type ElectedGroup, Elector, type StepDownReason, type TakeoverEvent } from './elector.ts';
import { GatedLeaseStore } from './gated-lease-store.ts';
import { Heartbeat, type HeartbeatPeer } from './heartbeat.ts';
import { KubeLeaseStore } from './kube-lease-store.ts';
import { type LeaseStore, leaseNameFor } from './lease-store.ts';
import { MemoryLeaseStore } from './memory-lease-store.ts';

/**
 * Several agents in one process: each has its own heartbeat socket on 127.0.1.x and its
 * own elector; with Leases they share one MemoryLeaseStore (or the test API server, each
 * with its own client), each through a switch that can cut that node off from the store.
 */

const secret = 'elector-test-secret';

interface Member {
  node: string;
  heartbeat: Heartbeat;
  elector: Elector;
  store: GatedLeaseStore | null;
  takeovers: TakeoverEvent[];
  stepDowns: { group: string; reason: StepDownReason; at: number }[];
  running: boolean;
}

interface Cluster {
  members: Member[];
  peers: HeartbeatPeer[];
  /** The shared in-memory store (mode 'lease'). */
  store: MemoryLeaseStore | null;
  /** The test API server (mode 'apiserver'). */
  server: TestCluster | null;
  /** One node's own store: its own client with the API server, or the shared memory. */
  nodeStore: (() => LeaseStore) | null;
  groups: ElectedGroup[];
}

const clusters: Cluster[] = [];

afterEach(async () => {
  for (const cluster of clusters.splice(0)) {
    for (const member of cluster.members) await stopMember(member, false);
    await cluster.server?.server.stop();
  }
});

async function stopMember(member: Member, graceful: boolean): Promise<void> {
  if (!member.running) return;
  member.running = false;
  await member.elector.stop({ graceful });
  await member.heartbeat.stop();
}

function makeMember(
  node: string,
  heartbeat: Heartbeat,
  backing: (() => LeaseStore) | null,
  groups: ElectedGroup[],
): Member {
  const nodeStore = backing === null ? null : new GatedLeaseStore(backing());
  const elector = new Elector({
    heartbeat,
    leases: nodeStore === null ? null : { store: nodeStore },
  });
  const member: Member = {
    node,
    heartbeat,
    elector,
    store: nodeStore,
    takeovers: [],
    stepDowns: [],
    running: true,
  };
  elector.on('takeover', (event) => member.takeovers.push(event));
  elector.on('step-down', (event) => member.stepDowns.push(event));
  elector.on('error', (error) => {
    throw error;
  });
  elector.start();
  elector.setGroups(groups);
  return member;
}

async function startCluster(
  nodes: string[],
  groups: ElectedGroup[],
  mode: 'lease' | 'file' | 'apiserver',
): Promise<Cluster> {
  const store = mode === 'lease' ? new MemoryLeaseStore() : null;
  const server = mode === 'apiserver' ? await startTestCluster() : null;
  const nodeStore =
    store !== null
      ? () => store
      : server !== null
        ? () => new KubeLeaseStore(new LeaseClient(server.newKubeConfig()), 'kube-system')
        : null;
  const heartbeats = nodes.map(
    (node, i) => new Heartbeat({ node, address: `127.0.1.${i + 1}`, port: 0, secret }),
  );
  const peers: HeartbeatPeer[] = [];
  for (const [i, heartbeat] of heartbeats.entries()) {
    peers.push({ node: nodes[i]!, ...(await heartbeat.start()) });
  }
  for (const heartbeat of heartbeats) heartbeat.setPeers(peers);
  const members = heartbeats.map((hb, i) => makeMember(nodes[i]!, hb, nodeStore, groups));
  const cluster = { members, peers, store, server, nodeStore, groups };
  clusters.push(cluster);
  return cluster;
}

/** Starts a node again under its old name and address, as a restarted agent would. */
async function restartMember(cluster: Cluster, node: string): Promise<Member> {
  const old = cluster.members.find((m) => m.node === node)!;
  await stopMember(old, false);
  const peer = cluster.peers.find((p) => p.node === node)!;
  const heartbeat = new Heartbeat({
    node,
    address: peer.address,
    port: peer.port,
    secret,
    peers: cluster.peers,
    incarnation: old.heartbeat.incarnation + 1,
  });
  await heartbeat.start();
  const member = makeMember(node, heartbeat, cluster.nodeStore, cluster.groups);
  cluster.members[cluster.members.indexOf(old)] = member;
  return member;
}

function activeNodes(cluster: Cluster, key: string): string[] {
  return cluster.members
    .filter((m) => m.running && m.elector.view(key)?.role === 'active')
    .map((m) => m.node);
}

/** Exactly one running member is active per group, and every running member agrees. */
function settled(cluster: Cluster): boolean {
  return cluster.groups.every((group) => {
    const active = activeNodes(cluster, group.key);
    return (
      active.length === 1 &&
      cluster.members
        .filter((m) => m.running)
        .every((m) => m.elector.view(group.key)?.activeNode === active[0])
    );
  });
}

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(5);
  }
}

/** A loopback UDP port that was free a moment ago. */
async function unusedPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Samples every few ms for `durationMs`; fails on the first instant with != 1 active. */
async function assertOneActiveThroughout(cluster: Cluster, durationMs: number): Promise<number> {
  const end = performance.now() + durationMs;
  let samples = 0;
  while (performance.now() < end) {
    for (const group of cluster.groups) {
      expect(activeNodes(cluster, group.key), group.key).toHaveLength(1);
    }
    samples++;
    await sleep(3);
  }
  return samples;
}

const three = ['gw-a', 'gw-b', 'gw-c'];
const twoGroups: ElectedGroup[] = [
  { key: 'EgressGateway/blue', suitable: three },
  { key: 'EgressGateway/green', suitable: three },
];

function memberOf(cluster: Cluster, node: string): Member {
  return cluster.members.find((m) => m.node === node)!;
}

describe('Elector with Leases over loopback heartbeats', () => {
  it('elects one active per group, spread over the nodes, and agrees on it', async () => {
    const cluster = await startCluster(three, twoGroups, 'lease');
    await waitFor(() => settled(cluster), 3000, 'settle');
    const blue = activeNodes(cluster, 'EgressGateway/blue')[0];
    const green = activeNodes(cluster, 'EgressGateway/green')[0];
    expect(blue).not.toBe(green);
    const samples = await assertOneActiveThroughout(cluster, 600);
    expect(samples).toBeGreaterThan(20);
    for (const group of twoGroups) {
      const holder = cluster.store!.peek(leaseNameFor(group.key))?.holderIdentity;
      expect(holder?.split('/')[0]).toBe(activeNodes(cluster, group.key)[0]);
    }
    const initial = cluster.members.flatMap((m) => m.takeovers);
    expect(initial.map((t) => t.reason)).toEqual(['initial', 'initial']);
  });

  it('fails over in under a second when the active agent dies, and does not fail back', async () => {
    const cluster = await startCluster(three, twoGroups, 'lease');
    await waitFor(() => settled(cluster), 3000, 'settle');
    const key = 'EgressGateway/blue';
    const victim = activeNodes(cluster, key)[0]!;
    const otherGroupNode = activeNodes(cluster, 'EgressGateway/green')[0]!;

    const killedAt = performance.now();
    await stopMember(memberOf(cluster, victim), false);
    await waitFor(() => activeNodes(cluster, key).length === 1, 2000, 'takeover');
    const takeoverMs = performance.now() - killedAt;
    const heir = activeNodes(cluster, key)[0]!;
    const event = memberOf(cluster, heir).takeovers.find((t) => t.group === key)!;
    console.log(
      `elector: failover took ${takeoverMs.toFixed(0)} ms from the kill, ` +
        `${event.sinceLastHeartbeatMs?.toFixed(0)} ms from the last heartbeat of ${victim}`,
    );
    expect(event).toMatchObject({ reason: 'failover', previousNode: victim });
    expect(event.sinceLastHeartbeatMs).toBeGreaterThanOrEqual(350 + 150);
    expect(event.sinceLastHeartbeatMs).toBeLessThan(1000);
    expect(takeoverMs).toBeLessThan(1000);
    // The surviving group did not move.
    expect(activeNodes(cluster, 'EgressGateway/green')).toEqual([otherGroupNode]);
    await waitFor(() => settled(cluster), 1000, 'agreement');

    // The dead node comes back: it must not get its group back.
    const returned = await restartMember(cluster, victim);
    await waitFor(() => returned.elector.view(key)?.activeNode === heir, 2000, 'return');
    await assertOneActiveThroughout(cluster, 1000);
    expect(activeNodes(cluster, key)).toEqual([heir]);
    expect(returned.takeovers).toEqual([]);
  });

  it('moves the role off a cordoned node, stopping there before taking elsewhere', async () => {
    const cluster = await startCluster(three, twoGroups, 'lease');
    await waitFor(() => settled(cluster), 3000, 'settle');
    const key = 'EgressGateway/green';
    const cordoned = activeNodes(cluster, key)[0]!;
    const uncordoned = three.filter((n) => n !== cordoned);
    const groups = twoGroups.map((g) => ({
      key: g.key,
      suitable: g.key === key ? uncordoned : three,
    }));
    cluster.groups = groups;
    const movedAt = performance.now();
    for (const member of cluster.members) member.elector.setGroups(groups);
    await waitFor(
      () => settled(cluster) && activeNodes(cluster, key)[0] !== cordoned,
      2000,
      'move',
    );
    console.log(`elector: cordon moved the role in ${(performance.now() - movedAt).toFixed(0)} ms`);
    const heir = activeNodes(cluster, key)[0]!;
    expect(uncordoned).toContain(heir);
    const stepDown = memberOf(cluster, cordoned).stepDowns.find((s) => s.group === key)!;
    const takeover = memberOf(cluster, heir).takeovers.find(
      (t) => t.group === key && t.reason === 'moved',
    )!;
    expect(stepDown.reason).toBe('not-chosen');
    expect(stepDown.at).toBeLessThanOrEqual(takeover.at);
    expect(takeover.previousNode).toBe(cordoned);
  });

  // Before issue #4 a holder gave its role up at the renew deadline whatever the cause;
  // now it holds over while no peer could take the Lease, so this case (only the holder
  // is cut off from the store, its peers reach it and hear it) is a hand-over: the holder
  // steps down after the deadline, still before the Lease can expire for anyone else,
  // and a peer takes the group once it has.
  it('hands a role it cannot renew over to a peer that reaches the store, before its Lease expires', async () => {
    const cluster = await startCluster(three, twoGroups, 'lease');
    await waitFor(() => settled(cluster), 3000, 'settle');
    const key = 'EgressGateway/blue';
    const cutOff = memberOf(cluster, activeNodes(cluster, key)[0]!);
    const leaseBefore = cluster.store!.peek(leaseNameFor(key))!;
    cutOff.store!.reachable = false;
    const cutAt = performance.now();

    const gaveUp = waitFor(() => cutOff.elector.view(key)?.role === 'standby', 2500, 'give up');
    while (cutOff.elector.view(key)?.role === 'active' && performance.now() - cutAt < 2500) {
      expect(activeNodes(cluster, key)).toEqual([cutOff.node]);
      await sleep(3);
    }
    await gaveUp;
    const gaveUpMs = performance.now() - cutAt;
    const lease = cluster.store!.peek(leaseNameFor(key))!;
    // Still the last renew we made, and it had time left: we stopped before it expired.
    expect(lease.holderIdentity).toBe(leaseBefore.holderIdentity);
    // The renew deadline is 1.5 s after the last renew (which started before the cut),
    // the hand-over waits 150 ms more, and the Lease lasts 2 s from that renew.
    console.log(`elector: handed an unrenewable role over ${gaveUpMs.toFixed(0)} ms after the cut`);
    expect(gaveUpMs).toBeGreaterThanOrEqual(1000);
    expect(gaveUpMs).toBeLessThan(2000);
    expect(Date.now()).toBeLessThan(lease.renewTime!.getTime() + 2000);
    expect(cutOff.stepDowns.find((s) => s.group === key)?.reason).toBe('handover');
    expect(cutOff.elector.isEligible()).toBe(false);

    while (activeNodes(cluster, key).length === 0) {
      expect(performance.now() - cutAt).toBeLessThan(5000);
      await sleep(3);
    }
    expect(activeNodes(cluster, key)).toHaveLength(1);
    expect(activeNodes(cluster, key)[0]).not.toBe(cutOff.node);

    // Back in touch: a probe makes it eligible again, and nothing moves back to it.
    cutOff.store!.reachable = true;
    await waitFor(() => cutOff.elector.isEligible(), 2000, 'probe');
    await assertOneActiveThroughout(cluster, 500);
  });

  it('does not flap when heartbeats fail between nodes that both reach the store', async () => {
    const nodes = ['gw-a', 'gw-b'];
    const groups = [
      { key: 'Egress/one', suitable: nodes },
      { key: 'Egress/two', suitable: nodes },
    ];
    const cluster = await startCluster(nodes, groups, 'lease');
    await waitFor(() => settled(cluster), 3000, 'settle');
    // Heartbeats cut both ways, each node still listing the other (its packets go to a
    // port nobody listens on); the store stays reachable for both.
    const nowhere = await unusedPort();
    for (const member of cluster.members) {
      member.heartbeat.setPeers(
        cluster.peers.map((p) => (p.node === member.node ? p : { ...p, port: nowhere })),
      );
    }
    await sleep(1500);
    const takeoversBefore = cluster.members.flatMap((m) => m.takeovers).length;
    await assertOneActiveThroughout(cluster, 1500);
    expect(cluster.members.flatMap((m) => m.takeovers)).toHaveLength(takeoversBefore);
    for (const group of groups) {
      const holder = cluster.store!.peek(leaseNameFor(group.key))?.holderIdentity;
      expect(holder?.split('/')[0]).toBe(activeNodes(cluster, group.key)[0]);
    }
  });

  it('releases its Leases on a graceful stop so the next node takes over at once', async () => {
    const cluster = await startCluster(three, twoGroups, 'lease');
    await waitFor(() => settled(cluster), 3000, 'settle');
    const key = 'EgressGateway/blue';
    const leaving = memberOf(cluster, activeNodes(cluster, key)[0]!);
    const stoppedAt = performance.now();
    leaving.running = false;
    await leaving.elector.stop();
    await leaving.heartbeat.stop({ goodbye: true });
    expect(cluster.store!.peek(leaseNameFor(key))?.holderIdentity).toBeNull();
    await waitFor(() => activeNodes(cluster, key).length === 1, 1000, 'takeover');
    expect(performance.now() - stoppedAt).toBeLessThan(300);
  });
});

describe('Elector with Leases on the test API server', () => {
  it('elects, spreads and fails over in under a second through CoordinationV1Api', async () => {
    const cluster = await startCluster(three, twoGroups, 'apiserver');
    await waitFor(() => settled(cluster), 5000, 'settle');
    expect(activeNodes(cluster, 'EgressGateway/blue')).not.toEqual(
      activeNodes(cluster, 'EgressGateway/green'),
    );
    const key = 'EgressGateway/blue';
    const victim = activeNodes(cluster, key)[0]!;
    const killedAt = performance.now();
    await stopMember(memberOf(cluster, victim), false);
    await waitFor(() => activeNodes(cluster, key).length === 1, 3000, 'takeover');
    const takeoverMs = performance.now() - killedAt;
    const heir = activeNodes(cluster, key)[0]!;
    const event = memberOf(cluster, heir).takeovers.find((t) => t.group === key)!;
    console.log(
      `elector (API server): failover took ${takeoverMs.toFixed(0)} ms from the kill, ` +
        `${event.sinceLastHeartbeatMs?.toFixed(0)} ms from the last heartbeat`,
    );
    expect(event).toMatchObject({ reason: 'failover', previousNode: victim });
    expect(takeoverMs).toBeLessThan(1000);
    const lease = await cluster.nodeStore!().read(leaseNameFor(key));
    expect(lease?.holderIdentity?.split('/')[0]).toBe(heir);
    await assertOneActiveThroughout(cluster, 500);
  });
});

describe('Elector in file mode (no Leases)', () => {
  it('fails over in under a second on heartbeats alone', async () => {
    const cluster = await startCluster(three, twoGroups, 'file');
    await waitFor(() => settled(cluster), 3000, 'settle');
    const key = 'EgressGateway/green';
    const victim = activeNodes(cluster, key)[0]!;
    const killedAt = performance.now();
    await stopMember(memberOf(cluster, victim), false);
    await waitFor(() => activeNodes(cluster, key).length === 1, 2000, 'takeover');
    const takeoverMs = performance.now() - killedAt;
    const heir = memberOf(cluster, activeNodes(cluster, key)[0]!);
    const event = heir.takeovers.find((t) => t.group === key)!;
    console.log(
      `elector (file mode): failover took ${takeoverMs.toFixed(0)} ms from the kill, ` +
        `${event.sinceLastHeartbeatMs?.toFixed(0)} ms from the last heartbeat`,
    );
    expect(event.reason).toBe('failover');
    expect(takeoverMs).toBeLessThan(1000);
    await assertOneActiveThroughout(cluster, 500);
  });

  it('hands the role of a cordoned node over without two actives at any sampled instant', async () => {
    const cluster = await startCluster(three, twoGroups, 'file');
    await waitFor(() => settled(cluster), 3000, 'settle');
    const key = 'EgressGateway/blue';
    const cordoned = activeNodes(cluster, key)[0]!;
    const groups = twoGroups.map((g) => ({
      key: g.key,
      suitable: g.key === key ? three.filter((n) => n !== cordoned) : three,
    }));
    cluster.groups = groups;
    // The control plane's update reaches the agents at different moments: the heirs
    // first, the cordoned node 100 ms later. The heir must wait for it to step down.
    for (const member of cluster.members) {
      if (member.node !== cordoned) member.elector.setGroups(groups);
    }
    const movedAt = performance.now();
    setTimeout(() => memberOf(cluster, cordoned).elector.setGroups(groups), 100);
    while (!(settled(cluster) && activeNodes(cluster, key)[0] !== cordoned)) {
      expect(activeNodes(cluster, key).length).toBeLessThanOrEqual(1);
      expect(performance.now() - movedAt).toBeLessThan(2000);
      await sleep(2);
    }
    const heir = memberOf(cluster, activeNodes(cluster, key)[0]!);
    expect(heir.takeovers.find((t) => t.group === key)).toMatchObject({
      reason: 'moved',
      previousNode: cordoned,
    });
    expect(performance.now() - movedAt).toBeGreaterThanOrEqual(100);
  });

  it('settles a double claim after a partition heals on the same node everywhere', async () => {
    const cluster = await startCluster(
      ['gw-a', 'gw-b'],
      [{ key: 'Egress/x', suitable: ['gw-a', 'gw-b'] }],
      'file',
    );
    await waitFor(() => settled(cluster), 3000, 'settle');
    const holder = memberOf(cluster, activeNodes(cluster, 'Egress/x')[0]!);
    const other = cluster.members.find((m) => m !== holder)!;
    holder.heartbeat.setPeers([]); // cut both ways: it neither sends nor accepts
    await waitFor(() => activeNodes(cluster, 'Egress/x').length === 2, 2000, 'split brain');
    holder.heartbeat.setPeers(cluster.peers);
    await waitFor(() => settled(cluster), 2000, 'heal');
    const steppedDown = [...holder.stepDowns, ...other.stepDowns];
    expect(steppedDown.map((s) => s.reason)).toEqual(['conflict']);
    await assertOneActiveThroughout(cluster, 500);
  });
});

describe('Elector group changes and start-up', () => {
  it('takes no role during the start-up grace, then one per group', async () => {
    const cluster = await startCluster(three, twoGroups, 'lease');
    const startedAt = performance.now();
    await waitFor(() => settled(cluster), 3000, 'settle');
    // Grace: one dead window (350 ms) plus one interval (100 ms).
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(440);
  });

  it('gives up and releases a group that is no longer listed', async () => {
    const cluster = await startCluster(three, twoGroups, 'lease');
    await waitFor(() => settled(cluster), 3000, 'settle');
    const key = 'EgressGateway/blue';
    const holder = memberOf(cluster, activeNodes(cluster, key)[0]!);
    const remaining = twoGroups.filter((g) => g.key !== key);
    cluster.groups = remaining;
    for (const member of cluster.members) member.elector.setGroups(remaining);
    await waitFor(
      () => cluster.store!.peek(leaseNameFor(key))?.holderIdentity === null,
      1000,
      'release',
    );
    expect(holder.stepDowns.map((s) => s.reason)).toEqual(['group-removed']);
    expect(holder.elector.view(key)).toBeUndefined();
    expect(holder.heartbeat.snapshot().claims).not.toContain(key);
    await assertOneActiveThroughout(cluster, 300);
  });
});

describe('Elector input checks', () => {
  it('rejects duplicate group keys', async () => {
    const cluster = await startCluster(['gw-a'], [], 'file');
    expect(() =>
      cluster.members[0]!.elector.setGroups([
        { key: 'Egress/x', suitable: ['gw-a'] },
        { key: 'Egress/x', suitable: ['gw-a'] },
      ]),
    ).toThrow(/duplicate group key/);
  });
});
