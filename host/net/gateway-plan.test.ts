import { describe, expect, it } from 'vitest';
import type { GatewayPlan, RuleSpec } from './desired-state.ts';
import { NetError } from './exec.ts';
import {
  defaultGatewayConfig,
  emptyPlan,
  type GatewayConfig,
  type GatewayRole,
  planGateway,
} from './gateway-plan.ts';

const config: GatewayConfig = { ...defaultGatewayConfig, tunName: 'egw0', uplink: 'eth0' };
const facts = { uplinkMtu: 9000 };
const noRole: GatewayRole = { steering: [], vips: [], localEgress: [], tunnel: null };
const podRule = {
  id: 'EgressGatewayPolicy/web',
  sources: ['10.244.1.7', '10.244.2.0/24', '10.244.1.7/32'],
  destinations: ['0.0.0.0/0'],
  excluded: ['10.0.0.0/8', '192.168.0.0/16'],
};
const vipRole: GatewayRole = {
  steering: [podRule],
  vips: ['192.0.2.50'],
  localEgress: [],
  tunnel: null,
};
const primaryRole: GatewayRole = {
  steering: [podRule],
  vips: [],
  localEgress: [{ ip: '192.0.2.10', portMin: 61000, portMax: 65535 }],
  tunnel: null,
};

function codeOf(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    if (error instanceof NetError) return error.code;
    throw error;
  }
  return undefined;
}

function rulesAt(plan: GatewayPlan, priority: number): RuleSpec[] {
  return plan.rules.filter((rule) => rule.priority === priority);
}

describe('planGateway: no role', () => {
  it('is the empty plan: nothing of ours, local rule at 0', () => {
    const plan = planGateway(config, noRole, facts);
    expect(plan).toEqual(emptyPlan(config));
    expect(plan).toMatchObject({ link: null, rules: [], routes: [], nft: null, sysctls: [] });
    expect(plan.localRulePriority).toBe(0);
    expect(plan.nftTableName).toBe('egressgw');
  });

  it('steering that excludes everything it selects is no role', () => {
    const role = { ...noRole, steering: [{ ...podRule, excluded: ['0.0.0.0/0'] }] };
    expect(planGateway(config, role, facts).link).toBeNull();
  });
});

describe('planGateway: VIP mode', () => {
  const plan = planGateway(config, vipRole, facts);

  it('routes the VIP into the table and never makes it local', () => {
    expect(rulesAt(plan, 43)).toEqual([
      { priority: 43, to: '192.0.2.50/32', action: { kind: 'lookup', table: 7777 }, protocol: 158 },
    ]);
    expect(plan.localRulePriority).toBe(0);
    expect(plan.link).toEqual({ name: 'egw0', mtu: 9000, up: true, address: '169.254.88.1/32' });
    expect(JSON.stringify(plan)).not.toMatch(/address add|accept_local|reserved_ports/);
  });

  it('lets the TUN output skip our rules through goto to a nop', () => {
    expect(rulesAt(plan, 40)).toEqual([
      { priority: 40, iif: 'egw0', action: { kind: 'goto', target: 47 }, protocol: 158 },
    ]);
    expect(rulesAt(plan, 47)).toEqual([{ priority: 47, action: { kind: 'nop' }, protocol: 158 }]);
    expect(rulesAt(plan, 42)[0]!.fwmark).toEqual({ value: 0x100000, mask: 0x100000 });
  });

  it('fails closed: the TUN route first, unreachable behind it', () => {
    expect(plan.routes).toEqual([
      { type: 'unicast', dst: 'default', dev: 'egw0', metric: 0 },
      { type: 'unreachable', dst: 'default', metric: 0xfffffffe },
    ]);
  });

  it('builds exact per-rule sets: sources merged, exclusions subtracted', () => {
    const sets = plan.nft!.sets;
    expect(sets.map((set) => set.name)).toEqual([
      'vips',
      expect.stringMatching(/^src_[0-9a-f]{16}$/),
      expect.stringMatching(/^dst_[0-9a-f]{16}$/),
    ]);
    expect(sets[0]!.elements).toEqual(['192.0.2.50/32']);
    expect(sets[1]!.elements).toEqual(['10.244.1.7/32', '10.244.2.0/24']);
    expect(sets[2]!.elements).not.toContain('10.0.0.0/8');
    expect(sets[2]!.elements).toContain('11.0.0.0/8');
    expect(sets[2]!.elements).toContain('192.169.0.0/16');
    expect(sets[2]!.elements).not.toContain('192.168.0.0/16');
  });

  it('notracks and marks in one raw-priority chain, TUN output first', () => {
    const [chain] = plan.nft!.chains;
    expect(chain).toMatchObject({ name: 'prerouting', hook: 'prerouting', prio: -300 });
    expect(chain!.rules.map((rule) => rule.comment.replace(/ #[0-9a-f]{16}$/, ''))).toEqual([
      'tun output egw0',
      'to vips',
      'steer EgressGatewayPolicy/web',
    ]);
    const steer = JSON.stringify(chain!.rules[2]!.expr);
    expect(steer).toContain('"notrack":null');
    expect(steer).toContain('{"|":[{"meta":{"key":"mark"}},1048576]}');
    expect(steer).toContain('"right":"local"'); // traffic to the node itself stays local
  });

  it('wants forwarding and loose rp_filter, and nothing of primary mode', () => {
    expect(plan.sysctls).toEqual([
      { key: 'net/ipv4/ip_forward', kind: 'exact', value: '1' },
      { key: 'net/ipv4/conf/egw0/forwarding', kind: 'exact', value: '1' },
      { key: 'net/ipv4/conf/eth0/forwarding', kind: 'exact', value: '1' },
      { key: 'net/ipv4/conf/egw0/rp_filter', kind: 'exact', value: '2' },
      { key: 'net/ipv4/conf/eth0/rp_filter', kind: 'exact', value: '2' },
    ]);
  });
});

describe('planGateway: primary-IP mode', () => {
  const plan = planGateway(config, primaryRole, facts);

  it('moves the local rule behind our block', () => {
    expect(plan.localRulePriority).toBe(48);
    expect(Math.max(...plan.rules.map((rule) => rule.priority))).toBeLessThan(48);
  });

  it('steers TCP and UDP replies by ip rule, up to 65534 (the kernel refuses 65535)', () => {
    expect(rulesAt(plan, 41)).toEqual(
      [6, 17].map((ipproto) => ({
        priority: 41,
        iif: 'eth0',
        to: '192.0.2.10/32',
        ipproto,
        dport: [61000, 65534],
        action: { kind: 'lookup', table: 7777 },
        protocol: 158,
      })),
    );
  });

  it('marks replies and errors of our flows in nft, the full range included', () => {
    const comments = plan.nft!.chains[0]!.rules.map((rule) => rule.comment);
    expect(comments.slice(1, 5).map((c) => c.replace(/ #.*/, ''))).toEqual([
      'replies 192.0.2.10 tcp/udp 61000-65535',
      'replies 192.0.2.10 echo 61000-65535',
      'errors 192.0.2.10 about tcp/udp 61000-65535',
      'errors 192.0.2.10 about echo 61000-65535',
    ]);
    const errors = JSON.stringify(plan.nft!.chains[0]!.rules[3]!.expr);
    expect(errors).toContain('{"base":"th","offset":160,"len":32}},"right":3221225994'); // 192.0.2.10
    expect(errors).toContain('{"range":[61000,65535]}');
  });

  it('reserves the port range and accepts local sources on the TUN', () => {
    expect(plan.sysctls.slice(5)).toEqual([
      { key: 'net/ipv4/conf/egw0/accept_local', kind: 'exact', value: '1' },
      { key: 'net/ipv4/ip_local_reserved_ports', kind: 'port-ranges', ranges: [[61000, 65535]] },
    ]);
  });

  it('leaves port 65535 alone to nft when it is the whole range', () => {
    const only = {
      ...primaryRole,
      localEgress: [{ ip: '192.0.2.10', portMin: 65535, portMax: 65535 }],
      tunnel: null,
    };
    const p = planGateway(config, only, facts);
    expect(rulesAt(p, 41)).toEqual([]);
    expect(p.nft!.chains[0]!.rules[1]!.comment).toMatch(
      /^replies 192\.0\.2\.10 tcp\/udp 65535-65535/,
    );
  });
});

describe('planGateway: determinism and settings', () => {
  it('does not depend on the order of the role lists', () => {
    const a: GatewayRole = {
      steering: [podRule, { ...podRule, id: 'Egress/b', sources: ['10.244.9.9'] }],
      vips: ['192.0.2.51', '192.0.2.50'],
      localEgress: [],
      tunnel: null,
    };
    const b: GatewayRole = {
      steering: [...a.steering].reverse(),
      vips: [...a.vips].reverse(),
      localEgress: [],
      tunnel: null,
    };
    expect(planGateway(config, a, facts)).toEqual(planGateway(config, b, facts));
  });

  it('changes a rule comment exactly when its statements change', () => {
    const one = planGateway(config, vipRole, facts).nft!.chains[0]!.rules;
    const other = planGateway({ ...config, fwmark: 0x40000 }, vipRole, facts).nft!.chains[0]!.rules;
    expect(one[0]!.comment).toBe(other[0]!.comment); // tun output: no mark
    expect(one[2]!.comment).not.toBe(other[2]!.comment); // steer: sets the mark
  });

  it('keeps comments within the kernel limit for long ids', () => {
    const role = { ...vipRole, steering: [{ ...podRule, id: `Egress/${'x'.repeat(300)}` }] };
    for (const rule of planGateway(config, role, facts).nft!.chains[0]!.rules) {
      expect(Buffer.byteLength(rule.comment)).toBeLessThanOrEqual(127);
      expect(rule.comment).toMatch(/ #[0-9a-f]{16}$/);
    }
  });

  it('uses a configured MTU over the uplink', () => {
    expect(planGateway({ ...config, mtu: 1400 }, vipRole, facts).link!.mtu).toBe(1400);
  });

  it('takes the rule block and table from the config', () => {
    const plan = planGateway({ ...config, rulePriority: 1000, tableId: 100 }, primaryRole, facts);
    expect(plan.localRulePriority).toBe(1008);
    expect(plan.rules.every((rule) => rule.priority >= 1000 && rule.priority < 1008)).toBe(true);
    expect(plan.tableId).toBe(100);
  });
});

describe('planGateway: invalid input', () => {
  it.each([
    ['tunName with space', { tunName: 'egw 0' }],
    ['tunName too long', { tunName: 'a'.repeat(16) }],
    ['uplink with slash', { uplink: 'eth/0' }],
    ['same device', { uplink: 'egw0' }],
    ['main table', { tableId: 254 }],
    ['table 0', { tableId: 0 }],
    ['rule block past main', { rulePriority: 32760 }],
    ['zero mark', { fwmark: 0 }],
    ['kernel protocol', { routeProtocol: 2 }],
    ['nft table name', { nftTable: 'egress gw' }],
    ['tiny MTU', { mtu: 20 }],
  ])('rejects %s', (_name, change) => {
    expect(codeOf(() => planGateway({ ...config, ...change }, vipRole, facts))).toBe(
      'EGW_NET_BAD_ROLE',
    );
  });

  it.each([
    ['bad VIP', { ...vipRole, vips: ['192.0.2.300'] }],
    ['bad source', { ...vipRole, steering: [{ ...podRule, sources: ['10.0.0.0/33'] }] }],
    ['duplicate id', { ...vipRole, steering: [podRule, podRule] }],
    ['empty id', { ...vipRole, steering: [{ ...podRule, id: '' }] }],
    ['port 0', { ...primaryRole, localEgress: [{ ip: '192.0.2.10', portMin: 0, portMax: 10 }] }],
    [
      'reversed ports',
      { ...primaryRole, localEgress: [{ ip: '192.0.2.10', portMin: 2000, portMax: 1000 }] },
    ],
    ['VIP that is local egress', { ...primaryRole, vips: ['192.0.2.10'] }],
  ])('rejects %s with a message', (_name, role) => {
    expect(codeOf(() => planGateway(config, role as GatewayRole, facts))).toBe('EGW_NET_BAD_ROLE');
  });

  it('rejects an absurd uplink MTU instead of setting it', () => {
    expect(codeOf(() => planGateway(config, vipRole, { uplinkMtu: 0 }))).toBe('EGW_NET_BAD_ROLE');
  });
});
