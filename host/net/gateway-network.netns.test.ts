import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exec, type NetContext } from './exec.ts';
import { type Changes, GatewayNetwork } from './gateway-network.ts';
import { defaultGatewayConfig, type GatewayConfig, type GatewayRole } from './gateway-plan.ts';
import { memoryJournal } from './restore-journal.ts';
import { commandSysctl } from './sysctl.ts';

/**
 * GatewayNetwork against a real kernel, inside a namespace of its own (never the root
 * one): a real TUN (`ip tuntap`, no process attached) and a veth uplink. Routing
 * decisions are checked with `ip route get`, which walks the rules without sending
 * anything.
 */

const isRoot = process.getuid?.() === 0;
const hasPython = spawnSync('python3', ['-c', '']).status === 0;
const NS = `egwnet-${process.pid}`;
const OUTSIDE = `egwnet-${process.pid}-out`;
const TUN = 'egwtun0';
const UPLINK = 'up0';
const NODE_IP = '192.0.2.10';
const VIP = '192.0.2.50';
const context: NetContext = { exec, netns: NS };
// Shared by both GatewayNetwork instances below, as a journal file is across restarts.
const journal = memoryJournal();

async function run(...argv: string[]): Promise<string> {
  return (await exec(argv)).stdout;
}
const ip = (...args: string[]) => run('ip', '-n', NS, ...args);
const inNs = (...args: string[]) => run('ip', 'netns', 'exec', NS, ...args);
const outside = (...args: string[]) => run('ip', '-n', OUTSIDE, ...args);
const json = async (text: Promise<string>) => JSON.parse(await text) as Record<string, unknown>[];

async function snapshot() {
  return {
    rules: await json(ip('-4', '-N', '-d', '-j', 'rule', 'show')),
    routes: await json(ip('-4', '-N', '-d', '-j', 'route', 'show', 'table', 'all')),
    // What host/net may change on a link. Left out: the qdisc (the kernel attaches the
    // default one at a link's first up and keeps it) and IPv6 DAD progress flags.
    links: (await json(ip('-j', 'addr', 'show'))).map((link) => ({
      ifname: link['ifname'],
      flags: link['flags'],
      mtu: link['mtu'],
      addresses: (link['addr_info'] as Record<string, unknown>[]).map(
        (address) => `${address['local']}/${address['prefixlen']}`,
      ),
    })),
    nft: await json(inNs('nft', '-j', 'list', 'ruleset')),
    sysctls: (await inNs('sysctl', '-a'))
      .split('\n')
      .filter((line) => line.startsWith('net.ipv4.'))
      .sort(),
  };
}

async function routeGet(...args: string[]): Promise<Record<string, unknown>> {
  const [route] = await json(ip('-j', 'route', 'get', ...args));
  return route!;
}

async function sysctl(key: string): Promise<string> {
  return (await inNs('sysctl', '-n', key)).trim();
}

// Packets for the nft test, built byte by byte. Only the fields the rules look at are
// meaningful; checksums of the inner and L4 headers are left zero (nothing checks them
// before the prerouting hook).
const octets = (ip: string) => ip.split('.').map(Number);
const u16 = (value: number) => [value >> 8, value & 0xff];

function ipv4Header(source: string, destination: string, protocol: number): number[] {
  return [
    0x45,
    0,
    0,
    28,
    0,
    0,
    0x40,
    0,
    64,
    protocol,
    0,
    0,
    ...octets(source),
    ...octets(destination),
  ];
}

const echoReply = (id: number) => [0, 0, 0, 0, ...u16(id), 0, 1];
const udpHeader = (sourcePort: number, destinationPort: number) => [
  ...u16(sourcePort),
  ...u16(destinationPort),
  0,
  8,
  0,
  0,
];
/** Destination unreachable, fragmentation needed (RFC 1191), quoting a TCP segment. */
const fragmentationNeeded = (from: string, sourcePort: number) => [
  3,
  4,
  0,
  0,
  0,
  0,
  ...u16(1280),
  ...ipv4Header(from, '203.0.113.9', 6),
  ...u16(sourcePort),
  0,
  80,
  0,
  0,
  0,
  1,
];
/** Time exceeded quoting an echo request. */
const timeExceeded = (from: string, id: number) => [
  11,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  ...ipv4Header(from, '203.0.113.9', 1),
  8,
  0,
  0,
  0,
  ...u16(id),
  0,
  1,
];

// Sends [source, destination, protocol, payload hex] packets through a raw socket with
// our own IPv4 header (IPPROTO_RAW implies IP_HDRINCL; the kernel fills in length and
// header checksum).
const SENDER = `
import json, socket, sys
raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
for source, destination, protocol, payload in json.loads(sys.argv[1]):
    body = bytes.fromhex(payload)
    header = bytes([0x45, 0, 0, 0, 0, 0, 0, 0, 64, protocol, 0, 0])
    header += socket.inet_aton(source) + socket.inet_aton(destination)
    raw.sendto(header + body, (destination, 0))
`;

type Probe = [source: string, destination: string, protocol: number, payload: number[]];

async function sendFromOutside(packets: Probe[]): Promise<void> {
  const list = packets.map(([source, destination, protocol, payload]) => [
    source,
    destination,
    protocol,
    Buffer.from(payload).toString('hex'),
  ]);
  await run('ip', 'netns', 'exec', OUTSIDE, 'python3', '-c', SENDER, JSON.stringify(list));
}

async function counter(name: string): Promise<number> {
  const listing = JSON.parse(await inNs('nft', '-j', 'list', 'counter', 'inet', 'probe', name));
  const found = (listing.nftables as Record<string, { packets?: number }>[]).find(
    (item) => 'counter' in item,
  );
  return found!['counter']!.packets!;
}

const config: GatewayConfig = { ...defaultGatewayConfig, tunName: TUN, uplink: UPLINK };
const steering = [
  {
    id: 'EgressGatewayPolicy/web',
    sources: ['10.1.0.5', '10.1.1.0/24'],
    destinations: ['0.0.0.0/0'],
    excluded: ['10.0.0.0/8'],
  },
];
const primaryRole: GatewayRole = {
  steering,
  vips: [VIP],
  localEgress: [{ ip: NODE_IP, portMin: 61000, portMax: 65535 }],
  tunnel: null,
};
const vipRole: GatewayRole = { steering, vips: [VIP], localEgress: [], tunnel: null };

describe.skipIf(!isRoot)('GatewayNetwork in a namespace', () => {
  let initial: Awaited<ReturnType<typeof snapshot>>;
  let network: GatewayNetwork;

  beforeAll(async () => {
    await run('ip', 'netns', 'add', NS);
    await ip('link', 'set', 'lo', 'up');
    await ip('tuntap', 'add', 'mode', 'tun', 'name', TUN);
    await run('ip', 'netns', 'add', OUTSIDE);
    // The uplink's other end is "outside": a namespace that plays the Internet.
    await ip(
      'link',
      'add',
      UPLINK,
      'mtu',
      '1400',
      'type',
      'veth',
      'peer',
      'name',
      'o0',
      'netns',
      OUTSIDE,
    );
    await outside('link', 'set', 'o0', 'up');
    await outside('address', 'add', '192.0.2.1/24', 'dev', 'o0');
    await outside('route', 'add', '203.0.113.0/24', 'via', NODE_IP);
    await ip('link', 'set', UPLINK, 'up');
    await ip('address', 'add', `${NODE_IP}/24`, 'dev', UPLINK);
    await ip('route', 'add', 'default', 'via', '192.0.2.1', 'dev', UPLINK);
    // Others' state, which must survive everything below untouched.
    await ip('rule', 'add', 'pref', '100', 'fwmark', '0x1', 'lookup', '100');
    await inNs(
      'nft',
      'add table inet other; add chain inet other c { type filter hook input priority 0; }',
    );
    await inNs('sysctl', '-q', '-w', 'net.ipv4.ip_local_reserved_ports=80');
    await inNs('sysctl', '-q', '-w', `net.ipv4.conf.${UPLINK}.rp_filter=1`);
    initial = await snapshot();
    network = new GatewayNetwork({
      context,
      sysctl: commandSysctl(context),
      journal,
      config,
    });
  });

  afterAll(async () => {
    network?.stop();
    await run('ip', 'netns', 'del', NS).catch(() => {});
    await run('ip', 'netns', 'del', OUTSIDE).catch(() => {});
  });

  it('applies primary-IP and VIP steering', async () => {
    const changes = await network.apply(primaryRole);
    expect(Object.keys(changes).sort()).toEqual(['link', 'nft', 'routes', 'rules', 'sysctl']);

    const rules = await json(ip('-4', '-N', '-d', '-j', 'rule', 'show'));
    const local = rules.filter((rule) => rule['table'] === '255').map((rule) => rule['priority']);
    expect(local).toEqual([48]);
    // 40 goto, 41 tcp and udp, 42 fwmark, 43 VIP, 47 nop, 48 local
    expect(rules.filter((rule) => rule['protocol'] === '158')).toHaveLength(7);
    expect(rules.some((rule) => rule['priority'] === 100)).toBe(true);

    const [link] = await json(ip('-j', 'addr', 'show', 'dev', TUN));
    expect(link!['mtu']).toBe(1400); // the uplink's
    expect(link!['flags']).toContain('UP');

    const listing = JSON.parse(await inNs('nft', '-j', 'list', 'table', 'inet', 'egressgw'));
    const sets = (listing.nftables as Record<string, unknown>[]).flatMap((item) =>
      'set' in item ? [item['set'] as { elem?: unknown[] }] : [],
    );
    expect(sets.map((set) => set.elem?.length)).toEqual([1, 2, 8]);

    expect(await sysctl('net.ipv4.ip_forward')).toBe('1');
    expect(await sysctl(`net.ipv4.conf.${TUN}.rp_filter`)).toBe('2');
    expect(await sysctl(`net.ipv4.conf.${TUN}.accept_local`)).toBe('1');
    expect(await sysctl('net.ipv4.ip_local_reserved_ports')).toBe('80,61000-65535');
  });

  it('routes what it should into the TUN, and nothing else', async () => {
    const tun = { dev: TUN, table: '7777' };
    // Replies to the node's own IP on the NAT ports: into the TUN, not local delivery.
    expect(
      await routeGet(
        NODE_IP,
        'from',
        '203.0.113.9',
        'iif',
        UPLINK,
        'ipproto',
        'tcp',
        'dport',
        '61000',
      ),
    ).toMatchObject(tun);
    expect(
      await routeGet(
        NODE_IP,
        'from',
        '203.0.113.9',
        'iif',
        UPLINK,
        'ipproto',
        'udp',
        'dport',
        '65534',
      ),
    ).toMatchObject(tun);
    // The node's own services stay local.
    expect(
      await routeGet(
        NODE_IP,
        'from',
        '203.0.113.9',
        'iif',
        UPLINK,
        'ipproto',
        'tcp',
        'dport',
        '22',
      ),
    ).toMatchObject({ type: 'local' });
    // Replies to the VIP.
    expect(await routeGet(VIP, 'from', '203.0.113.9', 'iif', UPLINK)).toMatchObject(tun);
    // Pod traffic that nft marked.
    expect(
      await routeGet('203.0.113.9', 'from', '10.1.0.5', 'iif', UPLINK, 'mark', '0x100000'),
    ).toMatchObject(tun);
    // The core's output, even marked, leaves by normal routing.
    expect(
      await routeGet('203.0.113.9', 'from', VIP, 'iif', TUN, 'mark', '0x100000'),
    ).toMatchObject({ dev: UPLINK, gateway: '192.0.2.1' });
  });

  it.skipIf(!hasPython)(
    'marks and keeps out of conntrack exactly the packets of our flows',
    async () => {
      // A probe table of the test's own, right after ours (raw is -300, conntrack -200).
      await inNs(
        'nft',
        [
          'add table inet probe',
          'add counter inet probe seen',
          'add counter inet probe steered',
          'add chain inet probe c { type filter hook prerouting priority -299; }',
          `add rule inet probe c iifname ${UPLINK} meta l4proto { icmp, udp } counter name seen`,
          `add rule inet probe c iifname ${UPLINK} meta mark & 0x100000 == 0x100000 ct state untracked counter name steered`,
        ].join('; '),
      );
      try {
        const peer = '192.0.2.1';
        await sendFromOutside([
          // Ours: replies and errors for NAT ports and identifiers, pod traffic to steer.
          [peer, NODE_IP, 1, echoReply(61000)],
          [peer, NODE_IP, 1, fragmentationNeeded(NODE_IP, 61001)],
          [peer, NODE_IP, 1, timeExceeded(NODE_IP, 62000)],
          [peer, NODE_IP, 17, udpHeader(53, 65535)], // no ip rule can say 65535
          ['10.1.0.5', '203.0.113.9', 17, udpHeader(40000, 443)],
          // Not ours: the node's own ping, PMTU of its own connections, its DNS, other pods.
          [peer, NODE_IP, 1, echoReply(100)],
          [peer, NODE_IP, 1, fragmentationNeeded(NODE_IP, 40000)],
          [peer, NODE_IP, 1, timeExceeded(NODE_IP, 5)],
          [peer, NODE_IP, 17, udpHeader(53, 53)],
          ['10.9.9.9', '203.0.113.9', 17, udpHeader(40000, 443)],
        ]);
        expect(await counter('seen')).toBe(10);
        expect(await counter('steered')).toBe(5);
      } finally {
        await inNs('nft', 'delete', 'table', 'inet', 'probe');
      }
    },
  );

  it('changes nothing when applied twice', async () => {
    const before = await snapshot();
    expect(await network.apply(primaryRole)).toEqual({});
    expect(await snapshot()).toEqual(before);
  });

  it('repairs what was deleted or changed behind its back', async () => {
    await ip('rule', 'del', 'pref', '42');
    await ip('rule', 'del', 'pref', '48'); // the node now has no local delivery at all
    await ip('route', 'del', 'default', 'dev', TUN, 'table', '7777');
    await inNs('nft', 'delete', 'element', 'inet', 'egressgw', 'vips', `{ ${VIP} }`);
    await inNs('nft', 'flush', 'chain', 'inet', 'egressgw', 'prerouting');
    await inNs('sysctl', '-q', '-w', `net.ipv4.conf.${TUN}.rp_filter=1`);
    await inNs('sysctl', '-q', '-w', 'net.ipv4.ip_local_reserved_ports=80');
    await ip('address', 'add', '198.18.0.1/30', 'dev', TUN);
    await ip('link', 'set', TUN, 'down');

    const changes = await network.reconcile();
    expect(changes.rules).toEqual([
      'rule add pref 42 fwmark 0x100000/0x100000 lookup 7777 protocol 158',
      'rule add pref 48 lookup 255 protocol 158',
    ]);
    expect(changes.routes).toEqual([
      `route add unicast default dev ${TUN} table 7777 metric 0 proto 158`,
    ]);
    expect(changes.nft).toContain('add element vips (1)');
    expect(changes.nft).toContain('add rule prerouting');
    expect(changes.link).toEqual([
      `address del 198.18.0.1/30 dev ${TUN}`,
      `link set dev ${TUN} up`,
    ]);
    expect(changes.sysctl).toHaveLength(2);
    expect(await network.reconcile()).toEqual({});
  });

  it('repairs from its own loop', async () => {
    const repaired = new Promise<Changes>((resolve, reject) => {
      network = new GatewayNetwork({
        context,
        sysctl: commandSysctl(context),
        journal,
        config,
        repairIntervalMs: 50,
        onRepair: resolve,
        onError: reject,
      });
    });
    expect(await network.apply(primaryRole)).toEqual({});
    await inNs('nft', 'delete', 'table', 'inet', 'egressgw');
    network.start();
    expect((await repaired).nft![0]).toBe('add table egressgw');
    network.stop();
    expect(await network.reconcile()).toEqual({});
  });

  it('gives back the primary-IP parts when the role changes to VIP only', async () => {
    const changes = await network.apply(vipRole);
    expect(changes.rules).toContain('rule add pref 0 lookup 255 protocol 2');
    const rules = await json(ip('-4', '-N', '-d', '-j', 'rule', 'show'));
    expect(rules.filter((rule) => rule['table'] === '255').map((r) => r['priority'])).toEqual([0]);
    expect(await sysctl('net.ipv4.ip_local_reserved_ports')).toBe('80');
    expect(await sysctl(`net.ipv4.conf.${TUN}.accept_local`)).toBe('0');
    expect(
      await routeGet(
        NODE_IP,
        'from',
        '203.0.113.9',
        'iif',
        UPLINK,
        'ipproto',
        'tcp',
        'dport',
        '61000',
      ),
    ).toMatchObject({ type: 'local' });
    expect(await routeGet(VIP, 'from', '203.0.113.9', 'iif', UPLINK)).toMatchObject({ dev: TUN });
  });

  it('leaves the namespace exactly as it found it on teardown, and again', async () => {
    await network.apply(primaryRole);
    await network.teardown();
    expect(await snapshot()).toEqual(initial);
    expect(await network.teardown()).toEqual({});
  });
});
