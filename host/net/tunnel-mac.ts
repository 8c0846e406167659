import type { IPv4 } from '../model/addresses.ts';
import { CidrError, parseIPv4 } from '../model/cidr.ts';
import { NetError } from './exec.ts';

/**
 * A node's MAC inside the steering tunnel, derived from its node address so that every
 * node computes its peers' MACs itself and nothing needs publishing: `0e:77:` followed by
 * the four bytes of the address. 0x0e has the locally-administered bit set and the
 * multicast bit clear (IEEE 802 §8.2.2), so these never collide with a vendor's MAC and
 * are valid unicast sources; `77` keeps them apart from other local schemes.
 */

const PREFIX = '0e:77';

const hexByte = (value: number) => value.toString(16).padStart(2, '0');

/** "192.168.77.11" → "0e:77:c0:a8:4d:0b". Throws NetError EGW_NET_BAD_ROLE for a bad address. */
export function tunnelMac(ip: IPv4): string {
  let address: number;
  try {
    address = parseIPv4(ip);
  } catch (error) {
    if (!(error instanceof CidrError)) throw error;
    throw new NetError('EGW_NET_BAD_ROLE', `tunnel MAC: ${error.message}`, { cause: error });
  }
  const bytes = [address >>> 24, (address >>> 16) & 0xff, (address >>> 8) & 0xff, address & 0xff];
  return [PREFIX, ...bytes.map(hexByte)].join(':');
}
