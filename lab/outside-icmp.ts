/**
 * ICMP's answer to "which source do you see": the kernel in the outside namespace answers
 * ping itself, so an nftables set there records the source address of every echo
 * request it receives. The e2e tests read it to check ICMP through a gateway the way the
 * outside server checks TCP and UDP.
 */

import { LabError, parseToolJson } from './errors.ts';

export const OUTSIDE_NFT_TABLE = 'egwlab_outside';
export const ICMP_SOURCES_SET = 'icmp_sources';

export const outsideIcmpRuleset = `table ip ${OUTSIDE_NFT_TABLE} {
  set ${ICMP_SOURCES_SET} {
    type ipv4_addr
    flags dynamic
    size 65536
  }
  chain input {
    type filter hook input priority filter; policy accept;
    icmp type echo-request add @${ICMP_SOURCES_SET} { ip saddr }
  }
}
`;

export const listIcmpSourcesArgv = [
  'nft',
  '-j',
  'list',
  'set',
  'ip',
  OUTSIDE_NFT_TABLE,
  ICMP_SOURCES_SET,
];
export const clearIcmpSourcesArgv = [
  'nft',
  'flush',
  'set',
  'ip',
  OUTSIDE_NFT_TABLE,
  ICMP_SOURCES_SET,
];

/** The addresses in `nft -j list set` output, sorted. */
export function parseIcmpSources(jsonText: string): string[] {
  const parsed = parseToolJson(jsonText, 'nft -j');
  const entries = (parsed as { nftables?: unknown }).nftables;
  if (!Array.isArray(entries))
    throw new LabError('EGW_LAB_BAD_OUTPUT', 'nft -j output has no nftables array');
  const set = entries.find(
    (entry) => typeof entry === 'object' && entry !== null && 'set' in entry,
  ) as { set: { elem?: unknown[] } } | undefined;
  if (set === undefined) throw new LabError('EGW_LAB_BAD_OUTPUT', 'nft -j output holds no set');
  const addresses = (set.set.elem ?? []).map((elem) => {
    // Plain members print as strings; members with timeouts or counters as {elem:{val}}.
    if (typeof elem === 'string') return elem;
    const val = (elem as { elem?: { val?: unknown } }).elem?.val;
    if (typeof val === 'string') return val;
    throw new LabError('EGW_LAB_BAD_OUTPUT', `unexpected set element ${JSON.stringify(elem)}`);
  });
  return addresses.sort();
}
