import { describe, expect, it } from 'vitest';
import { planKernelBaseline } from './kernel-baseline.ts';
import { resolveLabSpec } from './spec.ts';
import { buildTopology } from './topology.ts';

const PREFIX = 'egwlab-4242-ab12';

describe('kernel baseline plan', () => {
  it('masquerades pod traffic out of the uplink and steers workers to the gateway', () => {
    const topology = buildTopology(resolveLabSpec({ gateways: 2, workers: 2 }), PREFIX);
    const plan = planKernelBaseline(topology, { gateway: 'gw2' });
    expect(plan.sourceIp).toBe('172.18.18.12');
    expect(plan.gatewayNetns).toBe(`${PREFIX}-gw2`);
    expect(plan.nftApply).toContain(
      'oifname "eth1" ip saddr 10.244.0.0/16 ip daddr != { 10.244.0.0/16, 192.168.77.0/24, 192.168.78.0/24 } masquerade',
    );
    expect(
      plan.nftApply.startsWith('table ip egwlab_baseline\ndelete table ip egwlab_baseline\n'),
    ).toBe(true);
    expect(plan.steps.map((step) => step.netns)).toEqual([
      `${PREFIX}-worker1`,
      `${PREFIX}-worker2`,
    ]);
    expect(plan.steps[0]!.apply).toEqual([
      'route replace 203.0.113.0/24 via 192.168.77.12 dev eth0 table 177',
      'rule add to 203.0.113.0/24 lookup 177 pref 177',
    ]);
    expect(plan.steps[0]!.undo).toEqual(['rule del pref 177', 'route flush table 177']);
    expect(plan.routerFlush).toBeUndefined();
  });

  it('SNATs to a VIP it adds as a secondary address, and routes a remote worker via the node router', () => {
    const topology = buildTopology(
      resolveLabSpec({ workers: 2, workerBehindRouter: true }),
      PREFIX,
    );
    const plan = planKernelBaseline(topology, {
      gateway: 'gw1',
      snat: { mode: 'vip' },
      destinations: ['203.0.113.0/24', '198.51.100.0/24'],
    });
    expect(plan.sourceIp).toBe('172.18.18.242');
    expect(plan.nftApply).toContain('snat to 172.18.18.242');
    expect(plan.steps[0]).toEqual({
      netns: `${PREFIX}-gw1`,
      apply: ['addr add 172.18.18.242/24 dev eth1'],
      undo: ['addr del 172.18.18.242/24 dev eth1'],
    });
    const byNetns = new Map(plan.steps.map((step) => [step.netns.slice(PREFIX.length + 1), step]));
    expect(byNetns.get('worker2')!.apply[0]).toBe(
      'route replace 203.0.113.0/24 via 192.168.78.1 dev eth0 table 177',
    );
    expect(byNetns.get('node-router')!.apply).toContain(
      'route replace 198.51.100.0/24 via 192.168.77.11 dev eth0 table 177',
    );
    expect(byNetns.get('worker1')!.undo).toEqual([
      'rule del pref 177',
      'rule del pref 177',
      'route flush table 177',
    ]);
    expect(plan.routerFlush?.apply).toEqual(['neigh flush to 172.18.18.242 dev eth0']);
  });

  it('refuses an unknown gateway', () => {
    const topology = buildTopology(resolveLabSpec(), PREFIX);
    expect(() => planKernelBaseline(topology, { gateway: 'worker1' })).toThrow(
      expect.objectContaining({ code: 'EGW_LAB_UNKNOWN_NAME' }),
    );
  });
});
