/**
 * A namespace's IP/TCP/UDP counters, named the way nstat names them (TcpInCsumErrors,
 * UdpInCsumErrors, TcpExtTCPTimeouts, IpExtInOctets).
 *
 * Read from /proc/net/snmp and /proc/net/netstat directly rather than through nstat,
 * whose history file (/tmp/.nstat.u<uid>) is shared by every namespace and would turn
 * absolute values into deltas against some other namespace's last reading.
 */

import { LabError } from './errors.ts';

export type KernelCounters = Record<string, number>;

export const KERNEL_COUNTER_FILES = ['/proc/net/snmp', '/proc/net/netstat'] as const;

/**
 * Parses the concatenated files: pairs of lines "Tcp: Name1 Name2 ..." then
 * "Tcp: value1 value2 ...".
 */
export function parseKernelCounters(text: string): KernelCounters {
  const counters: KernelCounters = {};
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const header = lines[i]!.split(/\s+/);
    const values = lines[i + 1]!.split(/\s+/);
    const group = header[0];
    if (group === undefined || !group.endsWith(':') || values[0] !== group) {
      throw new LabError('EGW_LAB_BAD_OUTPUT', `unexpected counter lines: ${lines[i]}`);
    }
    if (header.length !== values.length) {
      throw new LabError('EGW_LAB_BAD_OUTPUT', `counter line lengths differ for ${group}`);
    }
    const prefix = group.slice(0, -1);
    for (let k = 1; k < header.length; k++) {
      counters[`${prefix}${header[k]}`] = Number(values[k]);
    }
  }
  return counters;
}
