import { describe, expect, it } from 'vitest';
import { NetCommandError } from './exec.ts';
import { fakeExec } from './fake-exec.ts';
import linkApplied from './fixtures/link-tun-applied.json' with { type: 'json' };
import linkBefore from './fixtures/link-tun-before.json' with { type: 'json' };
import type { IpLinkJson } from './ip.ts';
import { linkCommands, reconcileLink, uplinkMtu } from './link-reconciler.ts';
import { memoryJournal } from './restore-journal.ts';

const before = linkBefore[0] as IpLinkJson;
const applied = linkApplied[0] as IpLinkJson;
const spec = { name: 'tun0', mtu: 1500, up: true, address: '169.254.88.1/32' } as const;
const missing = new NetCommandError(
  'EGW_NET_COMMAND_FAILED',
  ['ip'],
  1,
  'Device "tun0" does not exist.\n',
  'exit status 1',
);

describe('linkCommands', () => {
  it('removes addresses, sets the MTU and brings the TUN up', () => {
    expect(linkCommands(before, { ...spec, mtu: 9000 })).toEqual([
      'address del 198.18.0.1/30 dev tun0',
      'address add 169.254.88.1/32 dev tun0 scope link',
      'link set dev tun0 mtu 9000',
      'link set dev tun0 up',
    ]);
    expect(linkCommands(applied, spec)).toEqual([]);
  });
});

describe('reconcileLink', () => {
  it('journals the state before its first change and puts it back without a spec', async () => {
    let current = before;
    const { exec, calls } = fakeExec((argv) => {
      if (argv.includes('show')) return JSON.stringify([current]);
      return '';
    });
    const journal = memoryJournal();
    const context = { exec, netns: 'ns1' };
    expect(await reconcileLink(context, journal, { ...spec, mtu: 9000 })).toHaveLength(4);
    expect(journal.get('link:tun0')).toEqual({ mtu: 1500, up: false, address: spec.address });
    current = { ...applied, mtu: 9000 };
    expect(await reconcileLink(context, journal, { ...spec, mtu: 9000 })).toEqual([]);
    expect(await reconcileLink(context, journal, null)).toEqual([
      'address del 169.254.88.1/32 dev tun0',
      'link set dev tun0 mtu 1500',
      'link set dev tun0 down',
    ]);
    expect(journal.keys()).toEqual([]);
    expect(calls.at(-1)!.argv).toEqual(['ip', '-n', 'ns1', '-batch', '-']);
  });

  it('says EGW_NET_NO_LINK when the dataplane has not created the TUN', async () => {
    const { exec } = fakeExec(() => missing);
    await expect(reconcileLink({ exec, netns: null }, memoryJournal(), spec)).rejects.toMatchObject(
      { code: 'EGW_NET_NO_LINK' },
    );
    await expect(uplinkMtu({ exec, netns: null }, 'eth0')).rejects.toMatchObject({
      code: 'EGW_NET_NO_LINK',
    });
  });

  it('forgets a journaled TUN that is gone', async () => {
    const { exec } = fakeExec(() => missing);
    const journal = memoryJournal();
    journal.set('link:tun0', { mtu: 1500, up: false });
    expect(await reconcileLink({ exec, netns: null }, journal, null)).toEqual([]);
    expect(journal.keys()).toEqual([]);
  });
});
