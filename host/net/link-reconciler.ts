import type { LinkSpec } from './desired-state.ts';
import { type NetContext, NetError } from './exec.ts';
import { type IpLinkJson, ipBatch, showLink } from './ip.ts';
import type { RestoreJournal } from './restore-journal.ts';

/**
 * The TUN device: up, at the planned MTU, holding exactly the planned link-scoped address
 * (LinkSpec.address says why it needs one). The dataplane creates it; we only set it.
 * What it was before our first change (MTU, up or down) is journaled and put back when
 * the node loses its role. Other addresses found on it are removed and not put back: an
 * address on the TUN makes the kernel answer for it itself.
 */

const PREFIX = 'link:';

interface Entry {
  mtu: number;
  up: boolean;
  /** The address we added, removed again on restore (absent in journals of old runs). */
  address?: string;
}

export function isUp(link: IpLinkJson): boolean {
  return link.flags.includes('UP');
}

/** Pure: the `ip -batch` lines that bring `link` to `spec`. */
export function linkCommands(link: IpLinkJson, spec: LinkSpec): string[] {
  const commands: string[] = [];
  let present = false;
  for (const address of link.addr_info) {
    const text = `${address.local}/${address.prefixlen}`;
    if (text === spec.address) present = true;
    else commands.push(`address del ${text} dev ${spec.name}`);
  }
  if (!present) commands.push(`address add ${spec.address} dev ${spec.name} scope link`);
  if (link.mtu !== spec.mtu) commands.push(`link set dev ${spec.name} mtu ${spec.mtu}`);
  if (!isUp(link)) commands.push(`link set dev ${spec.name} up`);
  return commands;
}

/** Pure: the lines that put back what the journal recorded. */
export function linkRestoreCommands(link: IpLinkJson, entry: Entry): string[] {
  const commands: string[] = [];
  const ours = entry.address;
  if (ours !== undefined && link.addr_info.some((a) => `${a.local}/${a.prefixlen}` === ours)) {
    commands.push(`address del ${ours} dev ${link.ifname}`);
  }
  if (link.mtu !== entry.mtu) commands.push(`link set dev ${link.ifname} mtu ${entry.mtu}`);
  if (isUp(link) !== entry.up) {
    commands.push(`link set dev ${link.ifname} ${entry.up ? 'up' : 'down'}`);
  }
  return commands;
}

/** Reads the uplink's MTU, which the plan needs. */
export async function uplinkMtu(context: NetContext, name: string): Promise<number> {
  const link = await showLink(context, name);
  if (link === null) throw new NetError('EGW_NET_NO_LINK', `uplink ${name} does not exist`);
  return link.mtu;
}

/**
 * With a spec: brings the TUN to it (missing TUN is EGW_NET_NO_LINK: the dataplane has
 * not created it yet). Without (no role): restores every journaled link still present.
 */
export async function reconcileLink(
  context: NetContext,
  journal: RestoreJournal,
  spec: LinkSpec | null,
): Promise<string[]> {
  const changes: string[] = [];
  if (spec !== null) {
    const link = await showLink(context, spec.name);
    if (link === null) {
      throw new NetError('EGW_NET_NO_LINK', `TUN ${spec.name} does not exist (dataplane not up?)`);
    }
    const commands = linkCommands(link, spec);
    if (commands.length > 0 && journal.get(PREFIX + spec.name) === undefined) {
      journal.set(PREFIX + spec.name, {
        mtu: link.mtu,
        up: isUp(link),
        address: spec.address,
      } satisfies Entry);
    }
    await ipBatch(context, commands);
    changes.push(...commands);
  }
  for (const key of journal.keys()) {
    if (!key.startsWith(PREFIX) || key === PREFIX + spec?.name) continue;
    const link = await showLink(context, key.slice(PREFIX.length));
    if (link !== null) {
      const commands = linkRestoreCommands(link, journal.get(key) as Entry);
      await ipBatch(context, commands);
      changes.push(...commands);
    }
    journal.delete(key);
  }
  return changes;
}
