import { describe, expect, it } from 'vitest';
import type { RuleSpec } from './desired-state.ts';
import { fakeExec } from './fake-exec.ts';
import { fixturePlan } from './fixture-plan.ts';
import rulesApplied from './fixtures/rules-applied.json' with { type: 'json' };
import rulesBefore from './fixtures/rules-before.json' with { type: 'json' };
import type { IpRuleJson } from './ip.ts';
import {
  diffRules,
  normalizeRule,
  type RuleDesired,
  reconcileRules,
  ruleCommands,
  ruleKey,
} from './rule-reconciler.ts';

const plan = fixturePlan();
const desired: RuleDesired = {
  rules: plan.rules,
  localRulePriority: plan.localRulePriority,
  protocol: plan.routeProtocol,
};
const none: RuleDesired = { rules: [], localRulePriority: 0, protocol: plan.routeProtocol };
const applied = rulesApplied as IpRuleJson[];
const movedLocal: RuleSpec = {
  priority: 48,
  action: { kind: 'lookup', table: 255 },
  protocol: 158,
};
const before = rulesBefore as IpRuleJson[];

describe('normalizeRule', () => {
  it('reads every recorded rule of ours back into the planned form', () => {
    const ours = applied.filter((rule) => rule.protocol === '158').map(normalizeRule);
    expect(ours.map(ruleKey).sort()).toEqual([...plan.rules, movedLocal].map(ruleKey).sort());
  });

  it('understands names as well as -N numbers', () => {
    expect(
      normalizeRule({ priority: 5, ipproto: 'tcp', dport: 80, table: '7', protocol: '158' }),
    ).toEqual({
      priority: 5,
      ipproto: 6,
      dport: [80, 80],
      action: { kind: 'lookup', table: 7 },
      protocol: 158,
    });
  });

  it('keeps selectors it never writes, so such a rule never counts as desired', () => {
    const rule = normalizeRule({
      priority: 42,
      src: '10.0.0.0',
      srclen: 8,
      tos: '0x10',
      fwmark: '0x100000',
      fwmask: '0x100000',
      table: '7777',
      protocol: '158',
    });
    expect(rule.other).toEqual(['src=10.0.0.0', 'srclen=8', 'tos="0x10"']);
    expect(ruleKey(rule)).not.toBe(ruleKey(plan.rules.find((r) => r.priority === 42)!));
  });
});

describe('diffRules', () => {
  it('has nothing to do on the recorded applied state (apply twice = no change)', () => {
    expect(diffRules(applied, desired)).toEqual({ add: [], delete: [] });
  });

  it('from a fresh namespace: adds ours and the moved local rule, then drops pref 0', () => {
    const commands = ruleCommands(diffRules(before, desired));
    expect(commands).toEqual([
      'rule add pref 40 iif tun0 goto 47 protocol 158',
      'rule add pref 41 iif up0 to 192.0.2.10/32 ipproto 6 dport 61000-65534 lookup 7777 protocol 158',
      'rule add pref 41 iif up0 to 192.0.2.10/32 ipproto 17 dport 61000-65534 lookup 7777 protocol 158',
      'rule add pref 42 fwmark 0x100000/0x100000 lookup 7777 protocol 158',
      'rule add pref 43 to 192.0.2.50/32 lookup 7777 protocol 158',
      'rule add pref 47 nop protocol 158',
      'rule add pref 48 lookup 255 protocol 158',
      'rule del pref 0 lookup 255 protocol 2',
    ]);
  });

  it('teardown puts the local rule back at 0 before removing ours', () => {
    const commands = ruleCommands(diffRules(applied, none));
    expect(commands[0]).toBe('rule add pref 0 lookup 255 protocol 2');
    expect(commands.slice(1).every((c) => c.startsWith('rule del'))).toBe(true);
    expect(commands).toHaveLength(1 + 7);
    expect(commands).toContain('rule del pref 48 lookup 255 protocol 158');
  });

  it('repairs a deleted rule, and only that one', () => {
    const drifted = applied.filter((rule) => rule.priority !== 42);
    expect(ruleCommands(diffRules(drifted, desired))).toEqual([
      'rule add pref 42 fwmark 0x100000/0x100000 lookup 7777 protocol 158',
    ]);
  });

  it('repairs a node left with no local rule at all', () => {
    const drifted = applied.filter((rule) => rule.table !== '255');
    expect(ruleCommands(diffRules(drifted, desired))).toEqual([
      'rule add pref 48 lookup 255 protocol 158',
    ]);
  });

  it('removes a duplicate of ours and leaves everyone else alone', () => {
    const foreign: IpRuleJson[] = [
      { priority: 41, src: 'all', fwmark: '0x1', table: '100', protocol: '0' },
      { priority: 100, src: 'all', table: '255', protocol: '4' }, // someone else's local
      { priority: 9, src: 'all', fwmark: '0x200', fwmask: '0xf00', table: '2004', protocol: '12' },
    ];
    const observed = [...applied, applied[3]!, ...foreign];
    expect(ruleCommands(diffRules(observed, desired))).toEqual([
      'rule del pref 42 fwmark 0x100000/0x100000 lookup 7777 protocol 158',
    ]);
  });

  it('accepts any local rule already at the wanted place', () => {
    const kernelLocalWithoutProtocol = [{ priority: 0, src: 'all', table: '255' }] as IpRuleJson[];
    expect(diffRules(kernelLocalWithoutProtocol, none)).toEqual({ add: [], delete: [] });
  });
});

describe('reconcileRules', () => {
  it('reads with ip -4 -N -d -j and writes one ip -4 -batch, in the namespace', async () => {
    const drifted = applied.filter((rule) => rule.priority !== 47);
    const { exec, calls } = fakeExec(() => JSON.stringify(drifted));
    const commands = await reconcileRules({ exec, netns: 'egw-test' }, desired);
    expect(commands).toEqual(['rule add pref 47 nop protocol 158']);
    expect(calls.map((call) => call.argv.join(' '))).toEqual([
      'ip -n egw-test -4 -N -d -j rule show',
      'ip -n egw-test -4 -batch -',
    ]);
    expect(calls[1]!.input).toBe('rule add pref 47 nop protocol 158\n');
  });

  it('runs nothing when nothing differs', async () => {
    const { exec, calls } = fakeExec(() => JSON.stringify(applied));
    expect(await reconcileRules({ exec, netns: null }, desired)).toEqual([]);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.argv.slice(0, 2)).toEqual(['ip', '-4']);
  });
});
