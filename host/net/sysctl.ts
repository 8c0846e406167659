import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inNamespace, NetCommandError, type NetContext, NetError } from './exec.ts';

/**
 * Reading and writing kernel settings by slash path ("net/ipv4/conf/eth0.100/rp_filter").
 * /proc/sys/net shows the network namespace of the process that reads it, so the agent
 * reads its own namespace's files directly, and a named namespace is reached through
 * `ip netns exec NS sysctl`.
 */
export interface SysctlAccess {
  /** The value without its trailing newline, or null when the key does not exist. */
  read(key: string): Promise<string | null>;
  write(key: string, value: string): Promise<void>;
}

// Keys are paths under /proc/sys: no "..", no leading slash, no whitespace.
const KEY = /^[A-Za-z0-9_]+(?:\/[^/\s]+)+$/;

function checkKey(key: string): void {
  if (!KEY.test(key) || key.split('/').some((part) => part === '..' || part === '.')) {
    throw new NetError(
      'EGW_NET_SYSCTL',
      `sysctl key ${JSON.stringify(key)} is not a /proc/sys path`,
    );
  }
}

function checkValue(key: string, value: string): void {
  if (/[\n=]/.test(value)) {
    throw new NetError('EGW_NET_SYSCTL', `sysctl ${key}: value ${JSON.stringify(value)}`);
  }
}

/** The caller's own namespace, through the filesystem (no process per read). */
export function procSysctl(root = '/proc/sys'): SysctlAccess {
  return {
    async read(key) {
      checkKey(key);
      try {
        return (await readFile(join(root, key), 'utf8')).replace(/\n$/, '');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw new NetError('EGW_NET_SYSCTL', `read ${key}: ${(error as Error).message}`);
      }
    },
    async write(key, value) {
      checkKey(key);
      checkValue(key, value);
      try {
        // With its newline, as sysctl(8) writes it: an empty value would otherwise be a
        // write of zero bytes, which the kernel never sees (an empty
        // ip_local_reserved_ports could not be set back).
        await writeFile(join(root, key), `${value}\n`);
      } catch (error) {
        throw new NetError('EGW_NET_SYSCTL', `write ${key}=${value}: ${(error as Error).message}`);
      }
    },
  };
}

/** Any namespace, through `sysctl` (run inside it when the context names one). */
export function commandSysctl(context: NetContext): SysctlAccess {
  return {
    async read(key) {
      checkKey(key);
      try {
        const { stdout } = await context.exec(inNamespace(context, ['sysctl', '-n', key]));
        return stdout.replace(/\n$/, '');
      } catch (error) {
        // procps: "sysctl: cannot stat /proc/sys/...: No such file or directory"
        if (error instanceof NetCommandError && /No such file or directory/.test(error.stderr)) {
          return null;
        }
        throw error;
      }
    },
    async write(key, value) {
      checkKey(key);
      checkValue(key, value);
      await context.exec(inNamespace(context, ['sysctl', '-q', '-w', `${key}=${value}`]));
    },
  };
}
