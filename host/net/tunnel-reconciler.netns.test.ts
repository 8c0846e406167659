import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TunnelSpec } from './desired-state.ts';
import { exec, type NetContext } from './exec.ts';
import { tunnelMac } from './tunnel-mac.ts';
import { reconcileTunnel } from './tunnel-reconciler.ts';

/**
 * The steering tunnel against a real kernel: two namespaces, "nodes" A and B, joined by a
 * veth (the node network). Each gets a tunnel with the other as its only peer, and a ping
 * between addresses on their loopbacks, routed `via PEER dev egw0 onlink` both ways, must
 * cross the tunnel: the nodes have no other route to those addresses.
 */

const isRoot = process.getuid?.() === 0;
const NS_A = `egwtun-${process.pid}-a`;
const NS_B = `egwtun-${process.pid}-b`;
const TUNNEL = 'egw0';
const NODE_A = '192.168.77.11';
const NODE_B = '192.168.77.12';
const POD_A = '10.100.0.1';
const POD_B = '10.200.0.2';
const a: NetContext = { exec, netns: NS_A };
const b: NetContext = { exec, netns: NS_B };

function spec(local: string, peers: string[]): TunnelSpec {
  return {
    name: TUNNEL,
    vni: 4242,
    port: 4789,
    local,
    mtu: 1450,
    mac: tunnelMac(local),
    address: `169.254.77.${local.split('.')[3]}/32`,
    peers: peers.map((ip) => ({ ip, mac: tunnelMac(ip) })),
  };
}
const specA = spec(NODE_A, [NODE_B]);
const specB = spec(NODE_B, [NODE_A]);

async function run(...argv: string[]): Promise<string> {
  return (await exec(argv)).stdout;
}
const ip = (ns: string, ...args: string[]) => run('ip', '-n', ns, ...args);
const json = async (text: Promise<string>) => JSON.parse(await text) as Record<string, unknown>[];

async function rxPackets(ns: string): Promise<number> {
  const [link] = await json(ip(ns, '-s', '-j', 'link', 'show', 'dev', TUNNEL));
  return (link!['stats64'] as { rx: { packets: number } }).rx.packets;
}

/**
 * One echo from A's pod address to B's; true when the reply came back. A reply ends the
 * wait at once, so only a ping expected to fail waits the whole `seconds`.
 */
async function ping(seconds = 2): Promise<boolean> {
  const wait = String(seconds);
  const argv = ['ip', 'netns', 'exec', NS_A, 'ping', '-c', '1', '-W', wait, '-I', POD_A, POD_B];
  return exec(argv).then(
    () => true,
    () => false,
  );
}

async function state(ns: string) {
  const [link] = await json(ip(ns, '-d', '-j', 'link', 'show', 'dev', TUNNEL));
  return {
    mtu: link!['mtu'],
    address: link!['address'],
    fdb: await json(run('bridge', '-n', ns, '-j', 'fdb', 'show', 'dev', TUNNEL)),
    neighbours: await json(ip(ns, '-j', 'neigh', 'show', 'dev', TUNNEL)),
  };
}

describe.skipIf(!isRoot)('reconcileTunnel in two namespaces', () => {
  beforeAll(async () => {
    await run('ip', 'netns', 'add', NS_A);
    await run('ip', 'netns', 'add', NS_B);
    await ip(NS_A, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v0', 'netns', NS_B);
    for (const [ns, node, pod] of [
      [NS_A, NODE_A, POD_A],
      [NS_B, NODE_B, POD_B],
    ] as const) {
      await ip(ns, 'link', 'set', 'lo', 'up');
      await ip(ns, 'address', 'add', `${pod}/32`, 'dev', 'lo');
      await ip(ns, 'address', 'add', `${node}/24`, 'dev', 'v0');
      await ip(ns, 'link', 'set', 'v0', 'up');
    }
  });

  afterAll(async () => {
    await run('ip', 'netns', 'del', NS_A).catch(() => {});
    await run('ip', 'netns', 'del', NS_B).catch(() => {});
  });

  it('carries a packet routed via the peer to the peer, decapsulated', async () => {
    expect(await reconcileTunnel(a, TUNNEL, specA)).toHaveLength(5 + 1 + 1);
    expect(await reconcileTunnel(b, TUNNEL, specB)).toHaveLength(5 + 1 + 1);
    await ip(NS_A, 'route', 'add', `${POD_B}/32`, 'via', NODE_B, 'dev', TUNNEL, 'onlink');
    await ip(NS_B, 'route', 'add', `${POD_A}/32`, 'via', NODE_A, 'dev', TUNNEL, 'onlink');
    const [receivedA, receivedB] = [await rxPackets(NS_A), await rxPackets(NS_B)];
    expect(await ping()).toBe(true);
    // The request came out of B's tunnel device and the reply out of A's.
    expect(await rxPackets(NS_B)).toBeGreaterThan(receivedB);
    expect(await rxPackets(NS_A)).toBeGreaterThan(receivedA);
  });

  it('changes nothing the second time', async () => {
    const before = await state(NS_A);
    expect(await reconcileTunnel(a, TUNNEL, specA)).toEqual([]);
    expect(await reconcileTunnel(b, TUNNEL, specB)).toEqual([]);
    expect(await state(NS_A)).toEqual(before);
  });

  it('follows the MTU and the peers', async () => {
    const moreA = {
      ...specA,
      mtu: 1400,
      peers: [...specA.peers, ...spec(NODE_A, ['192.168.77.13']).peers],
    };
    expect(await reconcileTunnel(a, TUNNEL, moreA)).toEqual([
      `link set dev ${TUNNEL} mtu 1400`,
      `fdb replace 0e:77:c0:a8:4d:0d dev ${TUNNEL} dst 192.168.77.13 self permanent`,
      `neigh replace 192.168.77.13 lladdr 0e:77:c0:a8:4d:0d dev ${TUNNEL} nud permanent`,
    ]);
    const changed = await state(NS_A);
    expect(changed.mtu).toBe(1400);
    expect(changed.fdb).toHaveLength(2);
    expect(changed.neighbours).toHaveLength(2);
    // Back to B alone: the other peer's entries go.
    expect(await reconcileTunnel(a, TUNNEL, specA)).toEqual([
      `link set dev ${TUNNEL} mtu 1450`,
      `fdb del 0e:77:c0:a8:4d:0d dev ${TUNNEL} self`,
      `neigh del 192.168.77.13 dev ${TUNNEL}`,
    ]);
    expect(await ping()).toBe(true);
  });

  it('repairs what was changed behind its back', async () => {
    await ip(NS_A, 'neigh', 'del', NODE_B, 'dev', TUNNEL);
    await ip(NS_A, 'link', 'set', 'dev', TUNNEL, 'address', '0e:77:00:00:00:01');
    await run(
      'bridge',
      '-n',
      NS_B,
      'fdb',
      'replace',
      tunnelMac(NODE_A),
      'dev',
      TUNNEL,
      'dst',
      '192.168.77.99',
      'self',
      'static',
    );
    await ip(NS_B, 'address', 'add', '10.55.0.1/24', 'dev', TUNNEL);
    expect(await reconcileTunnel(a, TUNNEL, specA)).toEqual([
      `link set dev ${TUNNEL} address ${specA.mac}`,
      `neigh replace ${NODE_B} lladdr ${tunnelMac(NODE_B)} dev ${TUNNEL} nud permanent`,
    ]);
    expect(await reconcileTunnel(b, TUNNEL, specB)).toEqual([
      `address del 10.55.0.1/24 dev ${TUNNEL}`,
      `fdb replace ${specA.mac} dev ${TUNNEL} dst ${NODE_A} self permanent`,
    ]);
    expect(await ping()).toBe(true);
  });

  it('brings the device back up, with the neighbours the kernel dropped', async () => {
    await ip(NS_A, 'link', 'set', 'dev', TUNNEL, 'down');
    // neigh_ifdown: permanent entries go too. Forwarding entries stay.
    expect((await state(NS_A)).neighbours).toEqual([]);
    expect(await reconcileTunnel(a, TUNNEL, specA)).toEqual([
      `link set dev ${TUNNEL} up`,
      `neigh replace ${NODE_B} lladdr ${tunnelMac(NODE_B)} dev ${TUNNEL} nud permanent`,
    ]);
    // The route through the device went down with it; the route reconciler puts it back.
    await ip(NS_A, 'route', 'add', `${POD_B}/32`, 'via', NODE_B, 'dev', TUNNEL, 'onlink');
    expect(await ping()).toBe(true);
  });

  it('recreates the device for another VNI', async () => {
    const commands = await reconcileTunnel(a, TUNNEL, { ...specA, vni: 4343 });
    expect(commands.slice(0, 2)).toEqual([
      `link del dev ${TUNNEL}`,
      `link add ${TUNNEL} address ${specA.mac} mtu 1450 type vxlan id 4343 dstport 4789 local ${NODE_A} nolearning`,
    ]);
    // Recreated: the route through it went with the old device.
    await ip(NS_A, 'route', 'add', `${POD_B}/32`, 'via', NODE_B, 'dev', TUNNEL, 'onlink');
    expect(await ping(0.3)).toBe(false); // B still listens on 4242
    await reconcileTunnel(b, TUNNEL, { ...specB, vni: 4343 });
    await ip(NS_B, 'route', 'add', `${POD_A}/32`, 'via', NODE_A, 'dev', TUNNEL, 'onlink');
    expect(await ping()).toBe(true);
  });

  it("refuses someone else's device and reports a refused creation", async () => {
    await ip(
      NS_B,
      'link',
      'add',
      'egw1',
      'type',
      'vxlan',
      'id',
      '99',
      'dstport',
      '4789',
      'local',
      NODE_B,
    );
    try {
      await expect(reconcileTunnel(b, 'egw1', { ...specB, name: 'egw1' })).rejects.toMatchObject({
        code: 'EGW_NET_LINK_CONFLICT',
      });
      expect(await reconcileTunnel(b, 'egw1', null)).toEqual([]);
      await ip(NS_B, 'link', 'show', 'dev', 'egw1'); // still there
      // A second device with the same VNI and port: the kernel refuses it.
      await expect(
        reconcileTunnel(a, 'egw2', { ...specA, name: 'egw2', vni: 4343 }),
      ).rejects.toMatchObject({
        code: 'EGW_NET_COMMAND_FAILED',
        command: expect.arrayContaining(['link', 'add', 'egw2']),
        stderr: expect.stringMatching(/VNI already exists/),
      });
    } finally {
      await ip(NS_B, 'link', 'del', 'egw1');
    }
  });

  it('deletes its device without a spec', async () => {
    expect(await reconcileTunnel(a, TUNNEL, null)).toEqual([`link del dev ${TUNNEL}`]);
    expect(await reconcileTunnel(a, TUNNEL, null)).toEqual([]);
    await expect(ip(NS_A, 'link', 'show', 'dev', TUNNEL)).rejects.toMatchObject({
      stderr: expect.stringMatching(/does not exist/),
    });
  });
});
