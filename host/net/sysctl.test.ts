import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NetCommandError } from './exec.ts';
import { fakeExec } from './fake-exec.ts';
import { commandSysctl, procSysctl } from './sysctl.ts';

describe('procSysctl', () => {
  const root = mkdtempSync(join(tmpdir(), 'egw-net-proc-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'net/ipv4/conf/eth0.100'), { recursive: true });
  writeFileSync(join(root, 'net/ipv4/conf/eth0.100/rp_filter'), '1\n');

  it('reads and writes by slash path, dots in device names included', async () => {
    const access = procSysctl(root);
    expect(await access.read('net/ipv4/conf/eth0.100/rp_filter')).toBe('1');
    await access.write('net/ipv4/conf/eth0.100/rp_filter', '2');
    expect(readFileSync(join(root, 'net/ipv4/conf/eth0.100/rp_filter'), 'utf8')).toBe('2\n');
    // An empty value is still a write the kernel sees: a lone newline.
    await access.write('net/ipv4/conf/eth0.100/rp_filter', '');
    expect(readFileSync(join(root, 'net/ipv4/conf/eth0.100/rp_filter'), 'utf8')).toBe('\n');
    expect(await access.read('net/ipv4/conf/nosuch/rp_filter')).toBeNull();
  });

  it.each(['../etc/passwd', 'net/../../x', '/net/ipv4/ip_forward', 'net', 'net/ipv4/a b'])(
    'refuses the key %j',
    async (key) => {
      await expect(procSysctl(root).read(key)).rejects.toMatchObject({ code: 'EGW_NET_SYSCTL' });
    },
  );

  it('refuses a value that would smuggle in another line', async () => {
    await expect(
      procSysctl(root).write('net/ipv4/conf/eth0.100/rp_filter', '1\n2'),
    ).rejects.toMatchObject({ code: 'EGW_NET_SYSCTL' });
  });
});

describe('commandSysctl', () => {
  it('runs sysctl inside the namespace and maps a missing key to null', async () => {
    const { exec, calls } = fakeExec((argv) =>
      argv.includes('net/ipv4/conf/nosuch/rp_filter')
        ? new NetCommandError(
            'EGW_NET_COMMAND_FAILED',
            argv,
            255,
            'sysctl: cannot stat /proc/sys/net/ipv4/conf/nosuch/rp_filter: No such file or directory\n',
            'exit status 255',
          )
        : '1\n',
    );
    const access = commandSysctl({ exec, netns: 'ns1' });
    expect(await access.read('net/ipv4/ip_forward')).toBe('1');
    expect(await access.read('net/ipv4/conf/nosuch/rp_filter')).toBeNull();
    await access.write('net/ipv4/ip_forward', '1');
    expect(calls.map((call) => call.argv.join(' '))).toEqual([
      'ip netns exec ns1 sysctl -n net/ipv4/ip_forward',
      'ip netns exec ns1 sysctl -n net/ipv4/conf/nosuch/rp_filter',
      'ip netns exec ns1 sysctl -q -w net/ipv4/ip_forward=1',
    ]);
  });
});
