import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { SysctlWant } from './desired-state.ts';
import { fileJournal, memoryJournal } from './restore-journal.ts';
import type { SysctlAccess } from './sysctl.ts';
import { planPortRanges, reconcileSysctls } from './sysctl-reconciler.ts';

function fakeSysctls(initial: Record<string, string>) {
  const values = new Map(Object.entries(initial));
  const writes: string[] = [];
  const access: SysctlAccess = {
    read: async (key) => values.get(key) ?? null,
    write: async (key, value) => {
      writes.push(`${key}=${value}`);
      values.set(key, value);
    },
  };
  return { access, values, writes };
}

const forward: SysctlWant = { key: 'net/ipv4/ip_forward', kind: 'exact', value: '1' };
const loose: SysctlWant = { key: 'net/ipv4/conf/tun0/rp_filter', kind: 'exact', value: '2' };
const ports: SysctlWant = {
  key: 'net/ipv4/ip_local_reserved_ports',
  kind: 'port-ranges',
  ranges: [[61000, 65535]],
};

describe('planPortRanges', () => {
  it('adds our range beside others and remembers only what was missing', () => {
    expect(planPortRanges('80,62000-62010', [[61000, 65535]], [])).toEqual({
      value: '80,61000-65535',
      added: [
        [61000, 61999],
        [62011, 65535],
      ],
    });
  });

  it('moves our range when it changes, keeping what others reserved', () => {
    const first = planPortRanges('80', [[61000, 61999]], []);
    const second = planPortRanges(first.value, [[63000, 63999]], first.added);
    expect(second).toEqual({ value: '80,63000-63999', added: [[63000, 63999]] });
  });
});

describe('reconcileSysctls', () => {
  it('sets, does nothing the second time, and restores on an empty list', async () => {
    const { access, values, writes } = fakeSysctls({
      'net/ipv4/ip_forward': '0',
      'net/ipv4/conf/tun0/rp_filter': '1',
      'net/ipv4/ip_local_reserved_ports': '80',
    });
    const journal = memoryJournal();
    expect(await reconcileSysctls(access, journal, [forward, loose, ports])).toHaveLength(3);
    expect(values.get('net/ipv4/ip_local_reserved_ports')).toBe('80,61000-65535');
    expect(await reconcileSysctls(access, journal, [forward, loose, ports])).toEqual([]);
    expect(await reconcileSysctls(access, journal, [])).toHaveLength(3);
    expect(Object.fromEntries(values)).toEqual({
      'net/ipv4/ip_forward': '0',
      'net/ipv4/conf/tun0/rp_filter': '1',
      'net/ipv4/ip_local_reserved_ports': '80',
    });
    // Restored newest first.
    expect(writes.slice(3)).toEqual([
      'net/ipv4/ip_local_reserved_ports=80',
      'net/ipv4/conf/tun0/rp_filter=1',
      'net/ipv4/ip_forward=0',
    ]);
    expect(journal.keys()).toEqual([]);
  });

  it('records nothing and restores nothing for values that were already right', async () => {
    const { access, writes } = fakeSysctls({ 'net/ipv4/ip_forward': '1' });
    const journal = memoryJournal();
    await reconcileSysctls(access, journal, [forward]);
    await reconcileSysctls(access, journal, []);
    expect(writes).toEqual([]);
  });

  it("does not undo someone else's later change", async () => {
    const { access, values } = fakeSysctls({
      'net/ipv4/ip_forward': '0',
      'net/ipv4/ip_local_reserved_ports': '',
    });
    const journal = memoryJournal();
    await reconcileSysctls(access, journal, [forward, ports]);
    values.set('net/ipv4/ip_forward', '1'); // same value, but now theirs too: unknowable
    values.set('net/ipv4/ip_local_reserved_ports', '30000-32767,61000-65535');
    await reconcileSysctls(access, journal, []);
    expect(values.get('net/ipv4/ip_local_reserved_ports')).toBe('30000-32767');
    expect(values.get('net/ipv4/ip_forward')).toBe('0');
    values.set('net/ipv4/ip_forward', '0');
    await reconcileSysctls(access, journal, [forward]);
    values.set('net/ipv4/ip_forward', '7'); // someone else wrote after us
    await reconcileSysctls(access, journal, []);
    expect(values.get('net/ipv4/ip_forward')).toBe('7');
  });

  it('repairs a value changed behind its back and still restores the first original', async () => {
    const { access, values } = fakeSysctls({ 'net/ipv4/conf/tun0/rp_filter': '1' });
    const journal = memoryJournal();
    await reconcileSysctls(access, journal, [loose]);
    values.set('net/ipv4/conf/tun0/rp_filter', '0');
    expect(await reconcileSysctls(access, journal, [loose])).toEqual([
      'net/ipv4/conf/tun0/rp_filter: 0 -> 2',
    ]);
    await reconcileSysctls(access, journal, []);
    expect(values.get('net/ipv4/conf/tun0/rp_filter')).toBe('1');
  });

  it('can hold back restores until the caller has moved traffic away', async () => {
    const { access, values } = fakeSysctls({ 'net/ipv4/ip_local_reserved_ports': '' });
    const journal = memoryJournal();
    await reconcileSysctls(access, journal, [ports]);
    await reconcileSysctls(access, journal, [], { restoreUnwanted: false });
    expect(values.get('net/ipv4/ip_local_reserved_ports')).toBe('61000-65535');
  });

  it('fails with EGW_NET_SYSCTL for a key the kernel does not have', async () => {
    const { access } = fakeSysctls({});
    await expect(reconcileSysctls(access, memoryJournal(), [loose])).rejects.toMatchObject({
      code: 'EGW_NET_SYSCTL',
    });
  });

  it('forgets a key whose device went away', async () => {
    const { access, values } = fakeSysctls({ 'net/ipv4/conf/tun0/rp_filter': '0' });
    const journal = memoryJournal();
    await reconcileSysctls(access, journal, [loose]);
    values.delete('net/ipv4/conf/tun0/rp_filter');
    expect(await reconcileSysctls(access, journal, [])).toEqual([]);
    expect(journal.keys()).toEqual([]);
  });

  describe('with a journal file', () => {
    const directory = mkdtempSync(join(tmpdir(), 'egw-net-journal-'));
    afterAll(() => rmSync(directory, { recursive: true, force: true }));

    it('restores the values found before the first change after a restart', async () => {
      const path = join(directory, 'state', 'restore.json');
      const { access, values } = fakeSysctls({ 'net/ipv4/ip_forward': '0' });
      await reconcileSysctls(access, fileJournal(path), [forward]);
      // A new process: the old journal object is gone, the file is not.
      await reconcileSysctls(access, fileJournal(path), []);
      expect(values.get('net/ipv4/ip_forward')).toBe('0');
      expect(fileJournal(path).keys()).toEqual([]);
    });
  });
});
