import { describe, expect, it } from 'vitest';
import type { BridgeFdbJson } from './bridge.ts';
import type { TunnelSpec } from './desired-state.ts';
import { NetCommandError } from './exec.ts';
import { type FakeAnswer, fakeExec } from './fake-exec.ts';
import fdbApplied from './fixtures/tunnel-fdb-applied.json' with { type: 'json' };
import fdbDrifted from './fixtures/tunnel-fdb-drifted.json' with { type: 'json' };
import fdbEnslaved from './fixtures/tunnel-fdb-enslaved.json' with { type: 'json' };
import linkApplied from './fixtures/tunnel-link-applied.json' with { type: 'json' };
import linkDrifted from './fixtures/tunnel-link-drifted.json' with { type: 'json' };
import linkForeignVxlan from './fixtures/tunnel-link-foreign-vxlan.json' with { type: 'json' };
import linkVeth from './fixtures/tunnel-link-veth.json' with { type: 'json' };
import neighApplied from './fixtures/tunnel-neigh-applied.json' with { type: 'json' };
import neighDrifted from './fixtures/tunnel-neigh-drifted.json' with { type: 'json' };
import type { IpLinkDetailsJson, IpNeighbourJson } from './ip.ts';
import { tunnelMac } from './tunnel-mac.ts';
import {
  fdbCommands,
  isOurTunnel,
  neighbourCommands,
  reconcileTunnel,
  TUNNEL_ALIAS,
  tunnelLinkCommands,
  tunnelLinkSteps,
  validateTunnelSpec,
} from './tunnel-reconciler.ts';

// The spec the fixtures were recorded with (namespace A of a two-namespace setup).
const spec: TunnelSpec = {
  name: 'egw0',
  vni: 4242,
  port: 4789,
  local: '192.168.77.11',
  mtu: 1450,
  mac: tunnelMac('192.168.77.11'),
  address: '169.254.77.11/32',
  peers: ['192.168.77.12', '192.168.77.13'].map((ip) => ({ ip, mac: tunnelMac(ip) })),
};

const link = (json: unknown[]) => json[0] as IpLinkDetailsJson;
const applied = link(linkApplied);
const drifted = link(linkDrifted);
const foreignVxlan = link(linkForeignVxlan);
const veth = link(linkVeth);

describe('validateTunnelSpec', () => {
  it('accepts the recorded spec', () => {
    expect(() => validateTunnelSpec('egw0', spec)).not.toThrow();
  });

  const peer = spec.peers[0]!;
  it.each<[string, string, Partial<TunnelSpec>]>([
    ['a name with a space', 'egw 0', { name: 'egw 0' }],
    ['a name over 15 characters', 'egw0123456789abc', { name: 'egw0123456789abc' }],
    ['a spec for another device', 'egw0', { name: 'egw1' }],
    ['VNI 0', 'egw0', { vni: 0 }],
    ['a VNI over 24 bits', 'egw0', { vni: 0x1000000 }],
    ['port 0', 'egw0', { port: 0 }],
    ['port 65536', 'egw0', { port: 65536 }],
    ['a bad local address', 'egw0', { local: '192.168.77' }],
    ['MTU 67', 'egw0', { mtu: 67 }],
    ['a fractional MTU', 'egw0', { mtu: 1450.5 }],
    ['an upper-case MAC', 'egw0', { mac: '0E:77:C0:A8:4D:0B' }],
    ['a multicast MAC', 'egw0', { mac: '01:00:5e:00:00:01' }],
    ['the zero MAC', 'egw0', { mac: '00:00:00:00:00:00' }],
    ['an address without a prefix length', 'egw0', { address: '169.254.77.11' }],
    ['an address with /33', 'egw0', { address: '169.254.77.11/33' }],
    ['a prefix length with a leading zero', 'egw0', { address: '169.254.77.11/032' }],
    ['this node as a peer', 'egw0', { peers: [{ ip: spec.local, mac: tunnelMac(spec.local) }] }],
    ['a peer named twice', 'egw0', { peers: [peer, peer] }],
    ['a peer with a bad address', 'egw0', { peers: [{ ip: '10.0.0.256', mac: peer.mac }] }],
    ['a peer with our MAC', 'egw0', { peers: [{ ip: peer.ip, mac: spec.mac }] }],
    ['two peers with one MAC', 'egw0', { peers: [peer, { ip: '192.168.77.99', mac: peer.mac }] }],
  ])('rejects %s with EGW_NET_BAD_ROLE', (_, name, change) => {
    expect(() => validateTunnelSpec(name, { ...spec, ...change })).toThrow(
      expect.objectContaining({ code: 'EGW_NET_BAD_ROLE' }),
    );
  });
});

describe('isOurTunnel', () => {
  it('knows ours by kind and alias, and nothing else', () => {
    expect(isOurTunnel(applied)).toBe(true);
    expect(isOurTunnel(drifted)).toBe(true);
    expect(isOurTunnel(foreignVxlan)).toBe(false); // vxlan, no alias
    expect(isOurTunnel(veth)).toBe(false);
    expect(isOurTunnel({ ...veth, ifalias: TUNNEL_ALIAS })).toBe(false);
    expect(isOurTunnel({ ...foreignVxlan, ifalias: 'someone else' })).toBe(false);
  });
});

describe('tunnelLinkSteps', () => {
  const creation = [
    'link add egw0 address 0e:77:c0:a8:4d:0b mtu 1450 type vxlan id 4242 dstport 4789 local 192.168.77.11 nolearning',
    'link set dev egw0 alias "egressgw steering tunnel"',
    'link set dev egw0 addrgenmode none',
    'address add 169.254.77.11/32 dev egw0 scope link',
    'link set dev egw0 up',
  ];

  it('creates an absent device, the add on its own', () => {
    const steps = tunnelLinkSteps(null, spec);
    expect(steps.remove).toEqual([]);
    expect(steps.create).toEqual(creation[0]!.split(' '));
    expect(tunnelLinkCommands(steps)).toEqual(creation);
  });

  it('reads the recorded device back as exactly the spec', () => {
    expect(tunnelLinkCommands(tunnelLinkSteps(applied, spec))).toEqual([]);
  });

  it('fixes addresses, learning, MAC, MTU and up in place', () => {
    expect(tunnelLinkCommands(tunnelLinkSteps(drifted, spec))).toEqual([
      'address del 169.254.77.99/32 dev egw0',
      'address del 10.55.0.1/24 dev egw0',
      'link set dev egw0 type vxlan nolearning',
      'link set dev egw0 address 0e:77:c0:a8:4d:0b',
      'link set dev egw0 mtu 1450',
      'link set dev egw0 up',
    ]);
  });

  it('moves our address to link scope and ignores IPv6 addresses', () => {
    const global = {
      ...applied,
      addr_info: [
        { family: 'inet6', local: 'fe80::1', prefixlen: 64, scope: 'link' },
        { family: 'inet', local: '169.254.77.11', prefixlen: 32, scope: 'global' },
      ],
    };
    expect(tunnelLinkCommands(tunnelLinkSteps(global, spec))).toEqual([
      'address del 169.254.77.11/32 dev egw0',
      'address add 169.254.77.11/32 dev egw0 scope link',
    ]);
  });

  it.each<[string, Partial<TunnelSpec>]>([
    ['VNI', { vni: 4243 }],
    ['port', { port: 8472 }],
    ['local address', { local: '192.168.77.21' }],
  ])('deletes and recreates the device for another %s', (_, change) => {
    const changed = { ...spec, ...change };
    const steps = tunnelLinkSteps(applied, changed);
    expect(steps.remove).toEqual(['link del dev egw0']);
    expect(steps.create).toEqual(tunnelLinkSteps(null, changed).create);
    expect(steps.update).toHaveLength(4);
  });

  it('recreates our device when it has a remote (it would flood there)', () => {
    const withRemote = { ...foreignVxlan, ifalias: TUNNEL_ALIAS };
    const steps = tunnelLinkSteps(withRemote, { ...spec, name: 'vx9', vni: 9 });
    expect(steps.remove).toEqual(['link del dev vx9']);
    expect(steps.create).not.toBeNull();
  });
});

describe('fdbCommands', () => {
  it('reads the recorded entries back as exactly the peers', () => {
    expect(fdbCommands(fdbApplied as BridgeFdbJson[], spec)).toEqual([]);
  });

  it('adds every peer to an empty table', () => {
    expect(fdbCommands([], spec)).toEqual([
      'fdb replace 0e:77:c0:a8:4d:0c dev egw0 dst 192.168.77.12 self permanent',
      'fdb replace 0e:77:c0:a8:4d:0d dev egw0 dst 192.168.77.13 self permanent',
    ]);
  });

  it('moves a peer back, resets its state, and deletes every other entry whole', () => {
    expect(fdbCommands(fdbDrifted as BridgeFdbJson[], spec)).toEqual([
      // recorded as "dst 192.168.77.99 ... static"
      'fdb replace 0e:77:c0:a8:4d:0d dev egw0 dst 192.168.77.13 self permanent',
      // the default destination, two remotes: one delete
      'fdb del 00:00:00:00:00:00 dev egw0 self',
      'fdb del 0e:77:00:00:00:02 dev egw0 self',
      'fdb del 0e:77:00:00:00:01 dev egw0 self',
    ]);
  });

  it.each<[string, Partial<BridgeFdbJson>]>([
    ['its own port', { port: 4790 }],
    ['its own VNI', { vni: 7 }],
    ['an underlay device', { viaIf: 'v0' }],
    ['a learned state', { state: undefined }],
  ])('replaces a peer entry with %s', (_, change) => {
    const entries = (fdbApplied as BridgeFdbJson[]).map((entry, index) =>
      index === 0 ? { ...entry, ...change } : entry,
    );
    expect(fdbCommands(entries, spec)).toEqual([
      'fdb replace 0e:77:c0:a8:4d:0d dev egw0 dst 192.168.77.13 self permanent',
    ]);
  });

  it("leaves a master bridge's entries alone", () => {
    const vx9 = { ...spec, name: 'vx9', peers: [] };
    expect(fdbCommands(fdbEnslaved as BridgeFdbJson[], vx9)).toEqual([
      'fdb del 00:00:00:00:00:00 dev vx9 self',
    ]);
  });

  it('empties the table when there are no peers', () => {
    expect(fdbCommands(fdbApplied as BridgeFdbJson[], { ...spec, peers: [] })).toEqual([
      'fdb del 0e:77:c0:a8:4d:0d dev egw0 self',
      'fdb del 0e:77:c0:a8:4d:0c dev egw0 self',
    ]);
  });
});

describe('neighbourCommands', () => {
  it('reads the recorded entries back as exactly the peers', () => {
    expect(neighbourCommands(neighApplied as IpNeighbourJson[], spec)).toEqual([]);
  });

  it('puts back missing and wrong peers and deletes everything else', () => {
    expect(neighbourCommands(neighDrifted as IpNeighbourJson[], spec)).toEqual([
      // gone: the kernel flushed it when the device went down
      'neigh replace 192.168.77.12 lladdr 0e:77:c0:a8:4d:0c dev egw0 nud permanent',
      // recorded with another MAC, reachable
      'neigh replace 192.168.77.13 lladdr 0e:77:c0:a8:4d:0d dev egw0 nud permanent',
      'neigh del 192.168.77.50 dev egw0',
      'neigh del 192.168.77.51 dev egw0',
      'neigh del fe80::1 dev egw0',
    ]);
  });

  it('makes a right MAC permanent', () => {
    const stale = (neighApplied as IpNeighbourJson[]).map((entry) => ({
      ...entry,
      state: ['STALE'],
    }));
    expect(neighbourCommands(stale, spec)).toHaveLength(2);
  });
});

describe('reconcileTunnel', () => {
  const missing = new NetCommandError(
    'EGW_NET_COMMAND_FAILED',
    ['ip'],
    1,
    'Device "egw0" does not exist.\n',
    'exit status 1',
  );

  /** A fake kernel answering the three reads; `link` null means no such device. */
  function kernel(state: { link: unknown[] | null; fdb: unknown[]; neigh: unknown[] }) {
    return fakeExec((argv): FakeAnswer => {
      if (argv.includes('addr') && argv.includes('show')) {
        return state.link === null ? missing : JSON.stringify(state.link);
      }
      if (argv.includes('fdb') && argv.includes('show')) return JSON.stringify(state.fdb);
      if (argv.includes('neigh') && argv.includes('show')) return JSON.stringify(state.neigh);
      return '';
    });
  }

  it('creates the device in one batch, then its entries, in one namespace', async () => {
    const { exec, calls } = kernel({ link: null, fdb: [], neigh: [] });
    const commands = await reconcileTunnel({ exec, netns: 'ns1' }, 'egw0', spec);
    expect(commands).toHaveLength(5 + 2 + 2);
    expect(calls.map((call) => call.argv.slice(0, 5))).toEqual([
      ['ip', '-n', 'ns1', '-d', '-j'],
      ['ip', '-n', 'ns1', '-batch', '-'],
      ['bridge', '-n', 'ns1', '-j', 'fdb'],
      ['ip', '-n', 'ns1', '-j', 'neigh'],
      ['bridge', '-n', 'ns1', '-batch', '-'],
      ['ip', '-n', 'ns1', '-batch', '-'],
    ]);
    expect(calls[1]!.input).toBe(`${commands.slice(0, 5).join('\n')}\n`);
    expect(calls[4]!.input).toBe(`${commands.slice(5, 7).join('\n')}\n`);
    expect(calls[5]!.input).toBe(`${commands.slice(7).join('\n')}\n`);
  });

  it('changes nothing on a device that matches', async () => {
    const { exec, calls } = kernel({ link: linkApplied, fdb: fdbApplied, neigh: neighApplied });
    expect(await reconcileTunnel({ exec, netns: null }, 'egw0', spec)).toEqual([]);
    expect(calls.every((call) => call.argv.includes('show'))).toBe(true);
  });

  it('repairs drift on all three levels', async () => {
    const { exec } = kernel({ link: linkDrifted, fdb: fdbDrifted, neigh: neighDrifted });
    expect(await reconcileTunnel({ exec, netns: null }, 'egw0', spec)).toHaveLength(6 + 4 + 5);
  });

  it('refuses to touch a device that is not ours', async () => {
    for (const other of [linkVeth, linkForeignVxlan]) {
      const { exec, calls } = kernel({ link: other, fdb: [], neigh: [] });
      const name = link(other).ifname;
      const error = reconcileTunnel({ exec, netns: null }, name, { ...spec, name });
      await expect(error).rejects.toMatchObject({ code: 'EGW_NET_LINK_CONFLICT' });
      await expect(error).rejects.toThrow(/not the steering tunnel/);
      expect(calls).toHaveLength(1);
    }
  });

  it('deletes only its own device when the node has no tunnel', async () => {
    const ours = kernel({ link: linkApplied, fdb: [], neigh: [] });
    expect(await reconcileTunnel({ exec: ours.exec, netns: null }, 'egw0', null)).toEqual([
      'link del dev egw0',
    ]);
    for (const other of [linkVeth, linkForeignVxlan, null]) {
      const { exec, calls } = kernel({ link: other, fdb: [], neigh: [] });
      expect(await reconcileTunnel({ exec, netns: null }, 'egw0', null)).toEqual([]);
      expect(calls).toHaveLength(1);
    }
  });

  it("names the failing line of the link batch, with the batch's stderr", async () => {
    const stderr =
      'Error: A VXLAN device with the specified VNI already exists.\nCommand failed -:1\n';
    const { exec } = fakeExec((argv) => {
      if (argv.includes('show')) return missing;
      return new NetCommandError('EGW_NET_COMMAND_FAILED', argv, 1, stderr, 'exit status 1');
    });
    const failure = reconcileTunnel({ exec, netns: 'ns1' }, 'egw0', spec);
    await expect(failure).rejects.toBeInstanceOf(NetCommandError);
    await expect(failure).rejects.toMatchObject({
      code: 'EGW_NET_COMMAND_FAILED',
      command: ['ip', '-n', 'ns1', ...tunnelLinkSteps(null, spec).create!],
      exitCode: 1,
      stderr,
    });
    await expect(failure).rejects.toThrow(
      /^ip -n ns1 link add egw0 .* \(line 1 of a batch\): Error: A VXLAN/,
    );
  });

  it('passes a batch failure through as it is when no line is named', async () => {
    const failure = new NetCommandError('EGW_NET_COMMAND_TIMEOUT', ['ip'], null, '', 'slow');
    const { exec } = fakeExec((argv) => (argv.includes('show') ? missing : failure));
    await expect(reconcileTunnel({ exec, netns: null }, 'egw0', spec)).rejects.toBe(failure);
  });

  it('runs nothing for an invalid spec', async () => {
    const { exec, calls } = kernel({ link: null, fdb: [], neigh: [] });
    await expect(
      reconcileTunnel({ exec, netns: null }, 'egw0', { ...spec, vni: 0 }),
    ).rejects.toMatchObject({ code: 'EGW_NET_BAD_ROLE' });
    await expect(reconcileTunnel({ exec, netns: null }, 'a b', null)).rejects.toMatchObject({
      code: 'EGW_NET_BAD_ROLE',
    });
    expect(calls).toEqual([]);
  });
});
