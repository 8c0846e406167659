/**
 * Proof that the lab has no path to the machine's real network: every device in a lab
 * namespace is loopback, a bridge, or a veth whose peer is in another lab namespace.
 * A peer in the root namespace (or any unnamed namespace) shows up with a link-netnsid
 * that has no lab name, because `ip netns list-id` names only namespaces in /run/netns.
 */

import { LabError } from './errors.ts';
import { ipBatch } from './exec.ts';

interface LinkJson {
  ifname?: string;
  link_type?: string;
  link_netnsid?: number;
  linkinfo?: { info_kind?: string };
}

interface NsidJson {
  nsid?: number;
  name?: string;
}

/** Problems found in one namespace's `ip -d -j link show` and `ip -j netns list-id`. */
export function isolationViolations(
  netns: string,
  links: readonly LinkJson[],
  nsids: readonly NsidJson[],
  labNamespaces: ReadonlySet<string>,
): string[] {
  const names = new Map<number, string>();
  for (const entry of nsids) {
    if (entry.nsid !== undefined && entry.name !== undefined) names.set(entry.nsid, entry.name);
  }
  const problems: string[] = [];
  for (const link of links) {
    const name = link.ifname ?? '?';
    const kind = link.linkinfo?.info_kind;
    if (link.link_type === 'loopback' || kind === 'bridge') continue;
    if (kind !== 'veth') {
      problems.push(`${netns}: ${name} is a ${kind ?? link.link_type ?? 'unknown'} device`);
      continue;
    }
    if (link.link_netnsid === undefined) continue;
    const peer = names.get(link.link_netnsid);
    if (peer === undefined || !labNamespaces.has(peer)) {
      problems.push(`${netns}: veth ${name} has its peer in ${peer ?? 'an unnamed namespace'}`);
    }
  }
  return problems;
}

/** The batch lines whose `ip -d -j` output isolationReport reads. */
export const ISOLATION_QUERY = ['link show', 'netns list-id'] as const;

/**
 * Problems in the output of ISOLATION_QUERY run with `ip -d -j -batch` in `netns`; the
 * query may follow other batch lines, as long as those print nothing.
 */
export function isolationReport(
  netns: string,
  stdout: string,
  labNamespaces: ReadonlySet<string>,
): string[] {
  let documents: unknown[];
  try {
    documents = stdout
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as unknown);
  } catch (error) {
    throw new LabError('EGW_LAB_BAD_OUTPUT', `ip -j link/list-id in ${netns}: ${stdout}`, {
      cause: error,
    });
  }
  const [links, nsids] = documents.slice(-2);
  if (documents.length < 2 || !Array.isArray(links) || !Array.isArray(nsids)) {
    throw new LabError('EGW_LAB_BAD_OUTPUT', `ip -j link/list-id in ${netns}: ${stdout}`);
  }
  return isolationViolations(netns, links, nsids, labNamespaces);
}

export function throwIfNotIsolated(problems: readonly string[]): void {
  if (problems.length > 0) {
    throw new LabError('EGW_LAB_NOT_ISOLATED', `lab is not isolated: ${problems.join('; ')}`);
  }
}

/** Throws EGW_LAB_NOT_ISOLATED when any lab namespace links outside the lab. */
export async function assertIsolated(namespaces: readonly string[]): Promise<void> {
  const lab = new Set(namespaces);
  const reports = await Promise.all(
    namespaces.map(async (netns) => {
      const result = await ipBatch(netns, ISOLATION_QUERY, { json: true, details: true });
      return isolationReport(netns, result.stdout, lab);
    }),
  );
  throwIfNotIsolated(reports.flat());
}
