import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withNetworkNamespace } from '../../dataplane/native/netns.ts';
import { isRoot, TestNamespaces } from '../../dataplane/native/test-namespaces.ts';
import { TestUdpSocket } from '../../dataplane/native/test-sockets.ts';
import { ArpAnnouncer } from './announcer.ts';
import { ARP_REPLY, ARP_REQUEST, buildArpFrame, parseArpFrame, ZERO_MAC } from './frame.ts';
import { ArpSocket } from './packet-socket.ts';
import { ArpResponder, type ArpResult } from './responder.ts';

// A peer and two gateways on one segment: the peer's bridge br0 (10.79.0.2/24) has a
// veth to gateway A (eth0, 10.79.0.10/24) and one to gateway B (eth0, 10.79.0.11/24).
// The VIP 10.79.0.100 is on no interface: only egressgw's responders answer for it.
const PEER_IP = '10.79.0.2';
const VIP = '10.79.0.100';
const UNOWNED = '10.79.0.101';

interface NeighbourEntry {
  dst: string;
  lladdr?: string;
  state?: string[];
}

describe.skipIf(!isRoot)('ARP responder and announcer between namespaces', () => {
  const namespaces = new TestNamespaces('arp');
  let peer = '';
  let gwA = '';
  let gwB = '';
  const gateways: {
    socket: ArpSocket;
    announcer: ArpAnnouncer;
    responder: ArpResponder;
    results: ArpResult[];
  }[] = [];

  beforeAll(() => {
    try {
      peer = namespaces.add('p');
      gwA = namespaces.add('a');
      gwB = namespaces.add('b');
      namespaces.ip(peer, 'link', 'add', 'br0', 'type', 'bridge');
      namespaces.ip(peer, 'addr', 'add', `${PEER_IP}/24`, 'dev', 'br0');
      namespaces.ip(peer, 'link', 'set', 'br0', 'up');
      for (const [gw, port, address] of [
        [gwA, 'pa', '10.79.0.10/24'],
        [gwB, 'pb', '10.79.0.11/24'],
      ] as const) {
        namespaces.ip(peer, 'link', 'add', port, 'type', 'veth', 'peer', 'eth0', 'netns', gw);
        namespaces.ip(peer, 'link', 'set', port, 'master', 'br0', 'up');
        namespaces.ip(gw, 'addr', 'add', address, 'dev', 'eth0');
        namespaces.ip(gw, 'link', 'set', 'eth0', 'up');
      }
      for (const gw of [gwA, gwB]) {
        const socket = withNetworkNamespace(gw, () => ArpSocket.open('eth0'));
        const announcer = new ArpAnnouncer([socket]);
        const results: ArpResult[] = [];
        const responder = new ArpResponder(socket, announcer.owns, (r) => results.push(r));
        responder.start();
        gateways.push({ socket, announcer, responder, results });
      }
    } catch (err) {
      cleanup();
      throw err;
    }
  });

  function cleanup(): void {
    for (const gw of gateways.splice(0)) {
      gw.announcer.close();
      gw.socket.close();
    }
    namespaces.removeAll();
  }

  afterAll(cleanup);

  function neighbour(ip: string): NeighbourEntry | undefined {
    return namespaces
      .ipJson<NeighbourEntry[]>(peer, 'neigh', 'show', 'dev', 'br0')
      .find((entry) => entry.dst === ip);
  }

  /** Makes the peer's kernel resolve `ip` (it ARPs before sending the datagram). */
  function sendFromPeer(ip: string): void {
    const socket = withNetworkNamespace(peer, () => new TestUdpSocket(PEER_IP, 0));
    try {
      socket.sendTo(ip, 9, Uint8Array.of(1));
    } finally {
      socket.close();
    }
  }

  async function waitFor<T>(probe: () => T | undefined, timeoutMs = 4000): Promise<T | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = probe();
      if (value !== undefined || Date.now() > deadline) return value;
      await sleep(25);
    }
  }

  it('reads the interface MAC of each gateway', () => {
    for (const [i, gw] of [gwA, gwB].entries()) {
      const [link] = namespaces.ipJson<{ address: string }[]>(gw, 'link', 'show', 'eth0');
      expect(gateways[i]!.socket.mac).toBe(link!.address);
    }
  });

  it('answers the peer for a VIP that is no local address; the peer learns its MAC', async () => {
    const a = gateways[0]!;
    a.announcer.add('gateway/test', VIP);
    sendFromPeer(VIP);
    const entry = await waitFor(() => {
      const e = neighbour(VIP);
      return e?.lladdr ? e : undefined;
    });
    expect(entry?.lladdr).toBe(a.socket.mac);
    expect(a.responder.counts.none).toBeGreaterThanOrEqual(1);
    expect(a.results.find((r) => r.reason === 'none')).toMatchObject({
      interfaceName: 'eth0',
      senderIp: PEER_IP,
      targetIp: VIP,
    });
    // Gateway B saw the same broadcast request and did not own the address.
    expect(gateways[1]!.results.some((r) => r.reason === 'not_owned' && r.targetIp === VIP)).toBe(
      true,
    );
  });

  it('stays silent for an address nobody announces', async () => {
    sendFromPeer(UNOWNED);
    const reason = await waitFor(
      () => gateways[0]!.results.find((r) => r.targetIp === UNOWNED)?.reason,
    );
    expect(reason).toBe('not_owned');
    expect(neighbour(UNOWNED)?.lladdr).toBeUndefined();
  });

  it('answers an ARP request sent from our own raw socket (arping-style)', async () => {
    const asker = withNetworkNamespace(peer, () => ArpSocket.open('br0'));
    try {
      asker.send(
        buildArpFrame({
          ethDestination: 'ff:ff:ff:ff:ff:ff',
          ethSource: asker.mac,
          operation: ARP_REQUEST,
          senderMac: asker.mac,
          senderIp: PEER_IP,
          targetMac: ZERO_MAC,
          targetIp: VIP,
        }),
      );
      const buffer = new Uint8Array(2048);
      const reply = await waitFor(() => {
        for (;;) {
          const got = asker.receive(buffer);
          if (got === null) return undefined;
          const arp = parseArpFrame(buffer, got.length);
          if (arp?.operation === ARP_REPLY && arp.senderIp === VIP) return arp;
        }
      });
      expect(reply).toMatchObject({ senderMac: gateways[0]!.socket.mac, targetMac: asker.mac });
    } finally {
      asker.close();
    }
  });

  it('moves the peer to the new owner with gratuitous ARP on failover', async () => {
    const [a, b] = [gateways[0]!, gateways[1]!];
    expect(neighbour(VIP)?.lladdr).toBe(a.socket.mac);
    a.announcer.remove('gateway/test');
    b.announcer.add('gateway/test', VIP);
    const moved = await waitFor(() => (neighbour(VIP)?.lladdr === b.socket.mac ? true : undefined));
    expect(moved).toBe(true);
    // A heard B's takeover: the gratuitous request and reply, neither one answered.
    const heard = await waitFor(() =>
      a.responder.counts.gratuitous > 0 && a.responder.counts.not_request > 0 ? true : undefined,
    );
    expect(heard).toBe(true);
    b.announcer.close();
  });
});
