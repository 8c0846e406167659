import { parseIPv4 } from '../model/cidr.ts';
import { type BridgeFdbJson, bridgeBatch, listFdb } from './bridge.ts';
import type { TunnelSpec } from './desired-state.ts';
import { type NetContext, NetError } from './exec.ts';
import {
  type IpLinkDetailsJson,
  type IpNeighbourJson,
  ipBatch,
  ipBatchNamingFailures,
  listNeighbours,
  showLinkDetails,
} from './ip.ts';

/**
 * The steering tunnel (issue #5): a VXLAN device that carries selected pods' traffic from
 * every node to the active gateway node. A reconciled device holds:
 *  - kind vxlan with the spec's VNI, port and local address, no remote or group (nothing
 *    is flooded) and learning off (nothing is learned from received packets);
 *  - our ifalias, which is how a restarted agent recognises the device as its own: a
 *    device without it, or of another kind, is never changed or deleted;
 *  - the spec's MAC and MTU, up, exactly the spec's link-scoped IPv4 address;
 *  - exactly one permanent forwarding entry per peer (MAC → peer node address) among the
 *    VXLAN driver's own entries, and exactly one permanent neighbour entry per peer
 *    (peer node address → MAC), so the device only ever sends to nodes the plan names.
 *
 * VNI and port cannot change on a live device ("Cannot change VNI", "Cannot change port"),
 * so a device that differs in them (or in its local address, or has a remote) is deleted
 * and created again. The kernel drops a device's neighbour entries, permanent ones too,
 * whenever it goes down (neigh_ifdown), so neighbours are read after the link is settled.
 */

/** The ifalias that marks the device as ours. */
export const TUNNEL_ALIAS = 'egressgw steering tunnel';

// Linux IFNAMSIZ is 16 with the NUL. Restricted further because names end up in
// `ip -batch` lines, which split on whitespace.
const DEVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/;
const MAC = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/;
// The prefix length as `ip -j addr` prints it back: no leading zero.
const HOST_ADDRESS = /^([0-9.]+)\/(0|[1-9][0-9]?)$/;
const MAX_VNI = 0xffffff;
// The vxlan driver's limits when it has no lower device (min_mtu, max_mtu in `ip -d`).
const MIN_MTU = 68;
const MAX_MTU = 65535;

function badSpec(name: string, reason: string): NetError {
  return new NetError('EGW_NET_BAD_ROLE', `tunnel ${name}: ${reason}`);
}

function isIPv4(text: string): boolean {
  try {
    parseIPv4(text);
    return true;
  } catch {
    return false;
  }
}

function isIntegerIn(value: number, min: number, max: number): boolean {
  return Number.isInteger(value) && value >= min && value <= max;
}

/** Lower-case, colon-separated, unicast (I/G bit clear) and not all zeros. */
function isUnicastMac(mac: string): boolean {
  return MAC.test(mac) && (Number.parseInt(mac.slice(0, 2), 16) & 1) === 0 && /[1-9a-f]/.test(mac);
}

/** Throws NetError EGW_NET_BAD_ROLE unless the spec can be applied to device `name`. */
export function validateTunnelSpec(name: string, spec: TunnelSpec): void {
  if (!DEVICE_NAME.test(name)) throw badSpec(name, 'not a usable interface name');
  if (spec.name !== name) throw badSpec(name, `the spec is for device ${spec.name}`);
  if (!isIntegerIn(spec.vni, 1, MAX_VNI)) {
    throw badSpec(name, `VNI ${spec.vni} not in 1-${MAX_VNI}`);
  }
  if (!isIntegerIn(spec.port, 1, 65535)) throw badSpec(name, `port ${spec.port} not in 1-65535`);
  if (!isIPv4(spec.local)) {
    throw badSpec(name, `local address ${spec.local} is not an IPv4 address`);
  }
  if (!isIntegerIn(spec.mtu, MIN_MTU, MAX_MTU)) {
    throw badSpec(name, `MTU ${spec.mtu} not in ${MIN_MTU}-${MAX_MTU}`);
  }
  if (!isUnicastMac(spec.mac)) {
    throw badSpec(name, `MAC ${spec.mac} is not a lower-case unicast MAC`);
  }
  const host = HOST_ADDRESS.exec(spec.address);
  if (host === null || !isIPv4(host[1]!) || Number(host[2]) > 32) {
    throw badSpec(name, `address ${spec.address} is not a.b.c.d/n`);
  }
  const ips = new Set<string>();
  const macs = new Set<string>([spec.mac]);
  for (const peer of spec.peers) {
    if (!isIPv4(peer.ip)) throw badSpec(name, `peer ${peer.ip} is not an IPv4 address`);
    if (peer.ip === spec.local) throw badSpec(name, `peer ${peer.ip} is this node`);
    if (ips.has(peer.ip)) throw badSpec(name, `peer ${peer.ip} is named twice`);
    if (!isUnicastMac(peer.mac)) {
      throw badSpec(name, `peer ${peer.ip}: MAC ${peer.mac} is not a lower-case unicast MAC`);
    }
    if (macs.has(peer.mac)) throw badSpec(name, `peer ${peer.ip}: MAC ${peer.mac} is taken`);
    ips.add(peer.ip);
    macs.add(peer.mac);
  }
}

/** A vxlan device carrying our alias: ours to change and delete. */
export function isOurTunnel(link: IpLinkDetailsJson): boolean {
  return link.linkinfo?.info_kind === 'vxlan' && link.ifalias === TUNNEL_ALIAS;
}

function conflict(link: IpLinkDetailsJson): NetError {
  const kind = link.linkinfo?.info_kind ?? 'no kind';
  const alias = link.ifalias === undefined ? 'no alias' : `alias ${JSON.stringify(link.ifalias)}`;
  return new NetError(
    'EGW_NET_LINK_CONFLICT',
    `device ${link.ifname} exists and is not the steering tunnel (${kind}, ${alias}); egressgw ` +
      `only manages a vxlan device with alias ${JSON.stringify(TUNNEL_ALIAS)}, so it leaves ` +
      'this one alone: remove or rename it, or configure another tunnel name',
  );
}

/** True when the device cannot be brought to the spec in place (see the file comment). */
export function needsRecreate(link: IpLinkDetailsJson, spec: TunnelSpec): boolean {
  const data = link.linkinfo?.info_data ?? {};
  return (
    data['id'] !== spec.vni ||
    data['port'] !== spec.port ||
    data['local'] !== spec.local ||
    data['remote'] !== undefined ||
    data['group'] !== undefined
  );
}

/**
 * How the link is brought to the spec. The steps run as one `ip -batch` (one process,
 * one netlink request after the other) rather than `ip link add` on its own first: a
 * device left without our alias by a crash between creating and marking it would be
 * someone else's for good. A failing line is named in the error.
 */
export interface TunnelLinkSteps {
  /** Deletes a device that cannot be changed in place. */
  remove: string[];
  /** `ip link add` arguments (without `ip`) when the device must be created. */
  create: string[] | null;
  /** Lines that bring the new or kept device to the spec. */
  update: string[];
}

function createArguments(spec: TunnelSpec): string[] {
  return [
    'link',
    'add',
    spec.name,
    'address',
    spec.mac,
    'mtu',
    String(spec.mtu),
    'type',
    'vxlan',
    'id',
    String(spec.vni),
    'dstport',
    String(spec.port),
    'local',
    spec.local,
    'nolearning',
  ];
}

function addressCommands(link: IpLinkDetailsJson | null, spec: TunnelSpec): string[] {
  const commands: string[] = [];
  let present = false;
  for (const address of link?.addr_info ?? []) {
    if (address.family !== 'inet') continue;
    const text = `${address.local}/${address.prefixlen}`;
    if (text === spec.address && address['scope'] === 'link') present = true;
    else commands.push(`address del ${text} dev ${spec.name}`);
  }
  if (!present) commands.push(`address add ${spec.address} dev ${spec.name} scope link`);
  return commands;
}

/** Pure: the steps that bring `link` (ours, or null when absent) to the spec. */
export function tunnelLinkSteps(link: IpLinkDetailsJson | null, spec: TunnelSpec): TunnelLinkSteps {
  const name = spec.name;
  if (link === null || needsRecreate(link, spec)) {
    return {
      remove: link === null ? [] : [`link del dev ${name}`],
      create: createArguments(spec),
      update: [
        // `ip link add` accepts `alias` but the kernel ignores IFLA_IFALIAS on a new link.
        `link set dev ${name} alias "${TUNNEL_ALIAS}"`,
        // No IPv6 link-local address: the device would send router solicitations and MLD
        // reports that have nowhere to go (no default forwarding entry) and count as drops.
        // Only possible before the first up, and not in `ip link add` (EAFNOSUPPORT).
        `link set dev ${name} addrgenmode none`,
        `address add ${spec.address} dev ${name} scope link`,
        `link set dev ${name} up`,
      ],
    };
  }
  const update = addressCommands(link, spec);
  // Only a reported `true`: a tool that left the field out would otherwise get this line
  // on every reconcile.
  if (link.linkinfo?.info_data?.['learning'] === true) {
    update.push(`link set dev ${name} type vxlan nolearning`);
  }
  if (link.address !== spec.mac) update.push(`link set dev ${name} address ${spec.mac}`);
  if (link.mtu !== spec.mtu) update.push(`link set dev ${name} mtu ${spec.mtu}`);
  if (!link.flags.includes('UP')) update.push(`link set dev ${name} up`);
  return { remove: [], create: null, update };
}

/** The steps as the lines they amount to, in the order they run. */
export function tunnelLinkCommands(steps: TunnelLinkSteps): string[] {
  const create = steps.create === null ? [] : [steps.create.join(' ')];
  return [...steps.remove, ...create, ...steps.update];
}

/**
 * The VXLAN driver's own entries: `self` and a remote. Entries without `self` belong to a
 * bridge the device is enslaved to (its own MAC, `master`), not to the tunnel.
 */
function isDriverEntry(entry: BridgeFdbJson): boolean {
  return entry.flags.includes('self') && entry.dst !== undefined;
}

/** A peer's entry as we write it: permanent, no per-entry port, VNI or underlay device. */
function isPeerEntry(entry: BridgeFdbJson, mac: string, ip: string): boolean {
  return (
    entry.mac === mac &&
    entry.dst === ip &&
    entry.state === 'permanent' &&
    entry.port === undefined &&
    entry.vni === undefined &&
    entry.viaIf === undefined &&
    entry['src_vni'] === undefined
  );
}

/**
 * Pure: `bridge -batch` lines for the forwarding entries. A unicast MAC has one remote
 * (the driver ignores `append` for it), so `replace` moves a peer's entry in place and
 * resets its state, port and VNI; other MACs are deleted whole, all their remotes at
 * once (the all-zero MAC, the default destination, may have several).
 */
export function fdbCommands(observed: readonly BridgeFdbJson[], spec: TunnelSpec): string[] {
  const entries = observed.filter(isDriverEntry);
  const peerMacs = new Set(spec.peers.map((peer) => peer.mac));
  const replace = spec.peers
    .filter((peer) => !entries.some((entry) => isPeerEntry(entry, peer.mac, peer.ip)))
    .map((peer) => `fdb replace ${peer.mac} dev ${spec.name} dst ${peer.ip} self permanent`);
  const strangers = new Set(entries.map((entry) => entry.mac).filter((mac) => !peerMacs.has(mac)));
  const remove = [...strangers].map((mac) => `fdb del ${mac} dev ${spec.name} self`);
  return [...replace, ...remove];
}

/** Pure: `ip -batch` lines for the neighbour entries (both families; see listNeighbours). */
export function neighbourCommands(
  observed: readonly IpNeighbourJson[],
  spec: TunnelSpec,
): string[] {
  const peerIps = new Set(spec.peers.map((peer) => peer.ip));
  const replace = spec.peers
    .filter(
      (peer) =>
        !observed.some(
          (entry) =>
            entry.dst === peer.ip && entry.lladdr === peer.mac && entry.state.includes('PERMANENT'),
        ),
    )
    .map((peer) => `neigh replace ${peer.ip} lladdr ${peer.mac} dev ${spec.name} nud permanent`);
  const remove = observed
    .filter((entry) => !peerIps.has(entry.dst))
    .map((entry) => `neigh del ${entry.dst} dev ${spec.name}`);
  return [...replace, ...remove];
}

/**
 * With a spec: brings device `name` to it, creating it when absent; a device of that name
 * that is not ours is EGW_NET_LINK_CONFLICT. Without: deletes device `name` if it is ours
 * and leaves anyone else's alone. Returns the lines it ran (ip and bridge batch syntax,
 * without the program name), none when everything already held.
 */
export async function reconcileTunnel(
  context: NetContext,
  name: string,
  spec: TunnelSpec | null,
): Promise<string[]> {
  if (spec !== null) validateTunnelSpec(name, spec);
  else if (!DEVICE_NAME.test(name)) throw badSpec(name, 'not a usable interface name');
  const link = await showLinkDetails(context, name);
  if (spec === null) {
    if (link === null || !isOurTunnel(link)) return [];
    const commands = [`link del dev ${name}`];
    await ipBatch(context, commands);
    return commands;
  }
  if (link !== null && !isOurTunnel(link)) throw conflict(link);
  const steps = tunnelLinkSteps(link, spec);
  await ipBatchNamingFailures(context, tunnelLinkCommands(steps));
  const [fdb, neighbours] = await Promise.all([
    listFdb(context, name),
    listNeighbours(context, name),
  ]);
  const fdbLines = fdbCommands(fdb, spec);
  const neighbourLines = neighbourCommands(neighbours, spec);
  await bridgeBatch(context, fdbLines);
  await ipBatch(context, neighbourLines);
  return [...tunnelLinkCommands(steps), ...fdbLines, ...neighbourLines];
}
