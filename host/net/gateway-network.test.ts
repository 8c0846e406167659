import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NetCommandError } from './exec.ts';
import { fakeExec } from './fake-exec.ts';
import { fixtureConfig, fixtureRole } from './fixture-plan.ts';
import linkApplied from './fixtures/link-tun-applied.json' with { type: 'json' };
import routesApplied from './fixtures/routes-applied.json' with { type: 'json' };
import rulesApplied from './fixtures/rules-applied.json' with { type: 'json' };
import rulesBefore from './fixtures/rules-before.json' with { type: 'json' };
import { GatewayNetwork } from './gateway-network.ts';
import { memoryJournal } from './restore-journal.ts';
import type { SysctlAccess } from './sysctl.ts';

/**
 * The orchestration alone, on a fake kernel that starts empty and never changes (so every
 * reconcile finds the same work): order of the concerns, serialization, refusal of bad
 * roles. The real kernel is in gateway-network.netns.test.ts.
 */

const nftApplied = readFileSync(new URL('./fixtures/nft-applied.json', import.meta.url), 'utf8');
const noSuch = (stderr: string) =>
  new NetCommandError('EGW_NET_COMMAND_FAILED', ['x'], 1, stderr, 'exit status 1');

function fakeKernel(options: { tun: boolean }) {
  const link = (name: string, mtu: number) =>
    JSON.stringify([{ ifname: name, ifindex: 2, flags: [], mtu, addr_info: [] }]);
  /** 'empty' answers as a fresh node; 'applied' replays what fixtures/ recorded. */
  let state: 'empty' | 'applied' = 'empty';
  const { exec, calls } = fakeExec((argv) => {
    const text = argv.join(' ');
    const applied = state === 'applied';
    if (text.includes('addr show dev up0')) return link('up0', 1500);
    if (text.includes('addr show dev tun0')) {
      if (!options.tun) return noSuch('Device "tun0" does not exist.');
      return applied ? JSON.stringify(linkApplied) : link('tun0', 1500);
    }
    // No steering tunnel in these roles: the device is absent and stays so.
    if (text.includes('show dev egw-vxlan')) return noSuch('Device "egw-vxlan" does not exist.');
    if (text.includes('rule show')) {
      return applied ? JSON.stringify(rulesApplied) : JSON.stringify(rulesBefore);
    }
    if (text.includes('route show')) return applied ? JSON.stringify(routesApplied) : '[]';
    if (text.includes('nft -j list')) {
      return applied ? nftApplied : noSuch('Error: No such file or directory');
    }
    return '';
  });
  let running = 0;
  let overlapped = false;
  const sysctls = new Map<string, string>();
  // Every reconcile reads each sysctl, one after the other: two reconciles running at
  // once would have two reads in flight.
  const slowly = async <T>(step: () => T): Promise<T> => {
    running++;
    if (running > 1) overlapped = true;
    await new Promise((resolve) => setTimeout(resolve, 1));
    running--;
    return step();
  };
  const sysctl: SysctlAccess = {
    read: (key) => slowly(() => sysctls.get(key) ?? '0'),
    write: (key, value) => slowly(() => void sysctls.set(key, value)),
  };
  const network = new GatewayNetwork({
    context: { exec, netns: null },
    sysctl,
    journal: memoryJournal(),
    config: fixtureConfig,
  });
  /** Which concern wrote, in order: the first word of each ip batch, or nft. */
  const writers = () =>
    calls
      .filter((call) => call.argv.includes('-batch') || call.argv.includes('-f'))
      .map((call) => (call.argv[0] === 'nft' ? 'nft' : call.input!.split(' ')[0]));
  return {
    network,
    calls,
    writers,
    sysctls,
    overlapped: () => overlapped,
    nowApplied: () => {
      state = 'applied';
    },
  };
}

describe('GatewayNetwork', () => {
  it('brings up link, table, nft and rules in that order; teardown starts with rules', async () => {
    const kernel = fakeKernel({ tun: true });
    const changes = await kernel.network.apply(fixtureRole);
    expect(Object.keys(changes)).toEqual(['link', 'sysctl', 'routes', 'nft', 'rules']);
    expect(changes.link).toEqual([
      'address add 169.254.88.1/32 dev tun0 scope link',
      'link set dev tun0 up',
    ]);
    // Each batch is named by its first command: the link batch starts with the address.
    expect(kernel.writers()).toEqual(['address', 'route', 'nft', 'rule']);
    expect(kernel.sysctls.get('net/ipv4/ip_local_reserved_ports')).toBe('61000-65535');

    kernel.nowApplied();
    kernel.calls.length = 0;
    expect(await kernel.network.reconcile()).toEqual({}); // the recordings are the plan
    const teardown = await kernel.network.teardown();
    expect(Object.keys(teardown)).toEqual(['rules', 'nft', 'routes', 'link', 'sysctl']);
    expect(teardown.nft).toEqual(['delete table egressgw']);
    expect(teardown.link).toEqual([
      'address del 169.254.88.1/32 dev tun0',
      'link set dev tun0 down',
    ]);
    expect(kernel.writers()).toEqual(['rule', 'nft', 'route', 'address']);
    expect(kernel.sysctls.get('net/ipv4/ip_local_reserved_ports')).toBe('');
  });

  it('refuses an invalid role before touching anything, and keeps the previous one', async () => {
    const kernel = fakeKernel({ tun: true });
    const bad = { ...fixtureRole, vips: ['300.1.1.1'] };
    await expect(kernel.network.apply(bad)).rejects.toMatchObject({ code: 'EGW_NET_BAD_ROLE' });
    expect(kernel.calls).toEqual([]);
    expect(await kernel.network.reconcile()).toEqual({}); // still no role: nothing to do
  });

  it('keeps a valid role when the TUN is not there yet', async () => {
    const kernel = fakeKernel({ tun: false });
    await expect(kernel.network.apply(fixtureRole)).rejects.toMatchObject({
      code: 'EGW_NET_NO_LINK',
    });
    await expect(kernel.network.reconcile()).rejects.toMatchObject({ code: 'EGW_NET_NO_LINK' });
  });

  it('never runs two reconciles at once', async () => {
    const kernel = fakeKernel({ tun: true });
    await Promise.all([
      kernel.network.apply(fixtureRole),
      kernel.network.reconcile(),
      kernel.network.apply(fixtureRole),
    ]);
    expect(kernel.overlapped()).toBe(false);
  });
});
