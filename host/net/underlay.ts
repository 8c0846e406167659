import type { IPv4 } from '../model/addresses.ts';
import { type NetContext, NetError } from './exec.ts';
import { listIPv4Links } from './ip.ts';

/**
 * The MTU of the device that holds `address`: the tunnel's outer packets leave through
 * it (the node-network address is the tunnel's source), so the tunnel's MTU is this
 * minus VXLAN's headers.
 */
export async function underlayMtu(context: NetContext, address: IPv4): Promise<number> {
  for (const link of await listIPv4Links(context)) {
    if (link.addr_info.some((entry) => entry.local === address)) return link.mtu;
  }
  throw new NetError(
    'EGW_NET_NO_ADDRESS',
    `no interface holds ${address}, the node address the steering tunnel sends from`,
  );
}
