import { describe, expect, it } from 'vitest';
import {
  defaultGatewayConfig,
  type GatewayConfig,
  type GatewayRole,
  planGateway,
  type TunnelRole,
} from './gateway-plan.ts';
import { defaultTunnelConfig, markField, planTunnel } from './tunnel-plan.ts';

const config: GatewayConfig = { ...defaultGatewayConfig, tunName: 'egw0', uplink: 'eth1' };
const base = { tableId: 7777, rulePriority: 40, routeProtocol: 158, fwmark: 0x00100000, end: 47 };
const slots = new Map([
  ['EgressGateway/a', 1],
  ['EgressGateway/b', 2],
]);
const facts = { underlayMtu: 1500, slots };
const role: TunnelRole = {
  local: '192.168.77.21',
  guard: null,
  groups: [
    {
      id: 'EgressGateway/b',
      nextHop: null,
      pairs: [{ sources: ['10.244.1.12/32'], destinations: ['203.0.113.10/32'] }],
    },
    {
      id: 'EgressGateway/a',
      nextHop: '192.168.77.11',
      pairs: [{ sources: ['10.244.1.11/32'], destinations: ['203.0.113.0/24'] }],
    },
  ],
};

describe('markField', () => {
  it('finds the shift and capacity of a contiguous mask', () => {
    expect(markField(0x0fe00000)).toEqual({ shift: 21, capacity: 127 });
    expect(markField(0x1)).toEqual({ shift: 0, capacity: 1 });
  });
  it('refuses holes and zero', () => {
    expect(() => markField(0x0a000000)).toThrow(/not contiguous/);
    expect(() => markField(0)).toThrow(/non-zero/);
  });
});

describe('planTunnel', () => {
  const plan = planTunnel(defaultTunnelConfig, base, role, facts);

  it('peers only with active nodes, each at its derived MAC', () => {
    expect(plan.tunnel).toEqual({
      name: 'egw-vxlan',
      vni: 7788,
      port: 4789,
      local: '192.168.77.21',
      mtu: 1450,
      mac: '0e:77:c0:a8:4d:15',
      address: '169.254.88.2/32',
      peers: [{ ip: '192.168.77.11', mac: '0e:77:c0:a8:4d:0b' }],
    });
  });

  it('routes a group through its slot’s table, and refuses traffic of a group without a node', () => {
    expect(plan.tables).toEqual([
      {
        id: 7778,
        routes: [
          {
            type: 'unicast',
            dst: 'default',
            dev: 'egw-vxlan',
            via: '192.168.77.11',
            onlink: true,
            metric: 0,
          },
          { type: 'unreachable', dst: 'default', metric: 0xfffffffe },
        ],
      },
      { id: 7779, routes: [{ type: 'unreachable', dst: 'default', metric: 0 }] },
    ]);
    expect(plan.tableRange).toEqual({ min: 7778, max: 7904 });
    expect(plan.rules).toEqual([
      {
        priority: 44,
        fwmark: { value: 0x00200000, mask: 0x0fe00000 },
        action: { kind: 'lookup', table: 7778 },
        protocol: 158,
      },
      {
        priority: 44,
        fwmark: { value: 0x00400000, mask: 0x0fe00000 },
        action: { kind: 'lookup', table: 7779 },
        protocol: 158,
      },
      { priority: 40, iif: 'lo', action: { kind: 'goto', target: 47 }, protocol: 158 },
    ]);
  });

  it('lets the traffic of a group without a node leave as the node’s when told to', () => {
    const open = planTunnel(
      { ...defaultTunnelConfig, whenNoGateway: 'node-address' },
      base,
      role,
      facts,
    );
    expect(open.tables[1]).toEqual({ id: 7779, routes: [] });
  });

  it('marks each pair with its slot, keeps other mark bits and skips conntrack', () => {
    expect(plan.sets.map((set) => set.elements)).toEqual([
      ['10.244.1.11/32'],
      ['203.0.113.0/24'],
      ['10.244.1.12/32'],
      ['203.0.113.10/32'],
    ]);
    const statements = JSON.stringify(plan.nftRules[0]!.expr);
    expect(statements).toContain('"notrack":null');
    expect(statements).toContain(String(0xf01fffff));
    expect(statements).toContain(String(0x00200000));
  });

  it('refuses a group without a slot, a bad peer and an MTU below 576', () => {
    expect(() =>
      planTunnel(defaultTunnelConfig, base, role, { ...facts, slots: new Map() }),
    ).toThrow(/no slot/);
    expect(() =>
      planTunnel(defaultTunnelConfig, base, role, { ...facts, underlayMtu: 600 }),
    ).toThrow(/leaves 550/);
    expect(() =>
      planTunnel(defaultTunnelConfig, base, { ...role, local: '192.168.77' }, facts),
    ).toThrow(/local address/);
    const badHop = { ...role, groups: [{ ...role.groups[1]!, nextHop: '192.168.77.300' }] };
    expect(() => planTunnel(defaultTunnelConfig, base, badHop, facts)).toThrow(/next hop of/);
    expect(() =>
      planTunnel({ ...defaultTunnelConfig, markMask: 0x00300000 }, base, role, facts),
    ).toThrow(/overlaps/);
  });
});

describe('the pod guard', () => {
  const guard = {
    podCIDRs: ['10.244.1.0/24'],
    known: ['10.244.1.11/32', '10.244.1.12/32', '10.244.1.13/32'],
    open: ['10.244.0.0/16', '10.96.0.0/12'],
  };

  it('drops outside traffic of the node’s pods it does not know, after every steering rule', () => {
    const plan = planTunnel(defaultTunnelConfig, base, { ...role, guard }, facts);
    const last = plan.nftRules.at(-1)!;
    expect(last.comment).toMatch(/^hold unknown pods/);
    expect(JSON.stringify(last.expr)).toContain('"drop":null');
    expect(plan.sets.find((set) => set.name === 'guard_known')?.elements).toEqual([
      '10.244.1.11/32',
      '10.244.1.12/31',
    ]);
    expect(plan.sets.find((set) => set.name === 'guard_open')?.elements).toEqual([
      '10.96.0.0/12',
      '10.244.0.0/16',
    ]);
  });

  it('holds nothing without pod CIDRs', () => {
    const plan = planTunnel(
      defaultTunnelConfig,
      base,
      { ...role, guard: { ...guard, podCIDRs: [] } },
      facts,
    );
    expect(plan.nftRules.some((rule) => rule.comment.startsWith('hold'))).toBe(false);
  });
});

describe('planGateway with a tunnel', () => {
  it('gives a node that only steers the tunnel and its rules, but no TUN', () => {
    const workerRole: GatewayRole = { steering: [], vips: [], localEgress: [], tunnel: role };
    const plan = planGateway(config, workerRole, { uplinkMtu: 1500, tunnel: facts });
    expect(plan.link).toBeNull();
    expect(plan.routes).toEqual([]);
    expect(plan.tunnel?.name).toBe('egw-vxlan');
    expect(plan.steerTables.map((table) => table.id)).toEqual([7778, 7779]);
    expect(plan.rules.map((rule) => rule.priority)).toEqual([40, 44, 44, 47]);
    expect(plan.nft?.chains[0]?.rules).toHaveLength(2);
    expect(plan.sysctls.map((want) => want.key)).toContain('net/ipv4/conf/egw-vxlan/rp_filter');
  });

  it('keeps the tunnel on a node that receives only (no pods of its own to steer)', () => {
    const receiving: GatewayRole = {
      steering: [],
      vips: [],
      localEgress: [],
      tunnel: { local: '192.168.77.11', groups: [], guard: null },
    };
    const plan = planGateway(config, receiving, { uplinkMtu: 1500, tunnel: facts });
    expect(plan.tunnel?.peers).toEqual([]);
    expect(plan.rules).toEqual([]);
    expect(plan.nft).toBeNull();
  });

  it('needs the tunnel facts', () => {
    expect(() =>
      planGateway(
        config,
        { steering: [], vips: [], localEgress: [], tunnel: role },
        { uplinkMtu: 1500 },
      ),
    ).toThrow(/facts/);
  });
});
