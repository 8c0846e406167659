import type { IPv4 } from '../model/addresses.ts';
import { NetCommandError, type NetContext, NetError, parseJsonOutput } from './exec.ts';

/**
 * The MTU of the device that holds `address`: the tunnel's outer packets leave through
 * it (the node-network address is the tunnel's source), so the tunnel's MTU is this
 * minus VXLAN's headers.
 */
export async function underlayMtu(context: NetContext, address: IPv4): Promise<number> {
  const argv =
    context.netns === null
      ? ['ip', '-j', '-4', 'addr', 'show']
      : ['ip', '-n', context.netns, '-j', '-4', 'addr', 'show'];
  const { stdout } = await context.exec(argv);
  const links = parseJsonOutput(argv, stdout);
  if (!Array.isArray(links)) {
    throw new NetCommandError('EGW_NET_BAD_OUTPUT', argv, 0, '', 'expected a JSON array');
  }
  for (const link of links as { ifname?: unknown; mtu?: unknown; addr_info?: unknown }[]) {
    if (!Array.isArray(link.addr_info) || typeof link.mtu !== 'number') continue;
    if ((link.addr_info as { local?: unknown }[]).some((entry) => entry.local === address)) {
      return link.mtu;
    }
  }
  throw new NetError(
    'EGW_NET_NO_ADDRESS',
    `no interface holds ${address}, the node address the steering tunnel sends from`,
  );
}
