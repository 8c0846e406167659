/**
 * The kernel path on the lab's own topology, for the benchmark to compare against:
 * one gateway forwards pod traffic and SNATs it with nftables (masquerade to its uplink
 * address, or SNAT to a VIP it holds as a local address), and the workers send traffic
 * for the destination CIDRs to that gateway by policy routing.
 *
 * Steering uses its own routing table and rule preference, so that undoing it removes
 * exactly what was added and leaves the main table (and later real steering) alone.
 */

import type { Cidr, IPv4 } from '../host/model/addresses.ts';
import {
  findGateway,
  type LabTopology,
  labAddresses,
  NODE_INTERFACE,
  UPLINK_INTERFACE,
} from './topology.ts';

export type BaselineSnat = { mode: 'masquerade' } | { mode: 'vip'; vip?: IPv4 };

export interface BaselineOptions {
  /** The gateway that forwards: gw1, gw2, ... */
  gateway: string;
  /** Default masquerade. */
  snat?: BaselineSnat;
  /** Destinations steered to the gateway. Default the outside network. */
  destinations?: Cidr[];
}

export const BASELINE_NFT_TABLE = 'egwlab_baseline';
export const BASELINE_ROUTE_TABLE = 177;
export const BASELINE_RULE_PREFERENCE = 177;

export interface BaselineStep {
  netns: string;
  /** `ip -n netns -batch` lines to apply, and to undo. */
  apply: string[];
  undo: string[];
}

export interface BaselinePlan {
  gateway: string;
  /** The source address the outside sees. */
  sourceIp: IPv4;
  gatewayNetns: string;
  /** An `nft -f` script; it replaces any earlier baseline table. */
  nftApply: string;
  nftUndo: string;
  /** Address changes on the gateway, then steering on workers and the node router. */
  steps: BaselineStep[];
  /** Neighbour entries to forget on the uplink router (a VIP that moved). */
  routerFlush: BaselineStep | undefined;
}

const CLUSTER_CIDRS_NEVER_NATTED = `{ ${labAddresses.clusterPodCidr}, ${labAddresses.nodeNetwork}, ${labAddresses.remoteNodeNetwork} }`;

export function planKernelBaseline(topology: LabTopology, options: BaselineOptions): BaselinePlan {
  const gateway = findGateway(topology, options.gateway);
  const snat = options.snat ?? { mode: 'masquerade' };
  const destinations = options.destinations ?? [labAddresses.outsideNetwork];
  const vip = snat.mode === 'vip' ? (snat.vip ?? labAddresses.vip) : undefined;
  const action = vip === undefined ? 'masquerade' : `snat to ${vip}`;
  const table = `table ip ${BASELINE_NFT_TABLE}`;
  const nftApply = [
    // Declaring then deleting makes the script work whether or not the table exists.
    table,
    `delete ${table}`,
    `${table} {`,
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    `    oifname "${UPLINK_INTERFACE}" ip saddr ${labAddresses.clusterPodCidr} ip daddr != ${CLUSTER_CIDRS_NEVER_NATTED} ${action}`,
    '  }',
    '}',
    '',
  ].join('\n');
  const nftUndo = `${table}\ndelete ${table}\n`;

  const steps: BaselineStep[] = [];
  if (vip !== undefined) {
    // A /24 makes the VIP a secondary address, so the kernel never picks it as the
    // gateway's own source address.
    steps.push({
      netns: gateway.netns,
      apply: [`addr add ${vip}/24 dev ${UPLINK_INTERFACE}`],
      undo: [`addr del ${vip}/24 dev ${UPLINK_INTERFACE}`],
    });
  }
  const steer = (netns: string, via: IPv4, device: string): BaselineStep => ({
    netns,
    apply: destinations.flatMap((cidr) => [
      `route replace ${cidr} via ${via} dev ${device} table ${BASELINE_ROUTE_TABLE}`,
      `rule add to ${cidr} lookup ${BASELINE_ROUTE_TABLE} pref ${BASELINE_RULE_PREFERENCE}`,
    ]),
    undo: [
      ...destinations.map(() => `rule del pref ${BASELINE_RULE_PREFERENCE}`),
      `route flush table ${BASELINE_ROUTE_TABLE}`,
    ],
  });
  const nodeRouter = topology.nodeRouter;
  for (const worker of topology.workers) {
    if (worker.nodeNetwork === gateway.nodeNetwork) {
      steps.push(steer(worker.netns, gateway.nodeIp, NODE_INTERFACE));
    } else if (nodeRouter !== undefined) {
      steps.push(steer(worker.netns, nodeRouter.remoteIp, NODE_INTERFACE));
    }
  }
  if (nodeRouter !== undefined && topology.workers.some((worker) => worker.behindRouter)) {
    steps.push(steer(nodeRouter.netns, gateway.nodeIp, 'eth0'));
  }
  return {
    gateway: gateway.name,
    sourceIp: vip ?? gateway.uplinkIp,
    gatewayNetns: gateway.netns,
    nftApply,
    nftUndo,
    steps,
    routerFlush:
      vip === undefined
        ? undefined
        : { netns: topology.router.netns, apply: [`neigh flush to ${vip} dev eth0`], undo: [] },
  };
}
