/**
 * What a caller may ask of the lab, and the defaults for everything left out.
 *
 * Everything here is plain data; `resolveLabSpec` checks ranges and fills defaults so that
 * the topology code never sees a half-specified cluster.
 */

import { LabError } from './errors.ts';
import { checkLabPrefix } from './names.ts';

export interface LabSpec {
  /** Gateway nodes gw1..gwN, 1-3. Default 2. */
  gateways?: number;
  /** Worker nodes worker1..workerN, 1-2. Default 1. */
  workers?: number;
  /** Pod namespaces on each worker, 1-8. Default 2. */
  podsPerWorker?: number;
  /**
   * Pod namespaces on each gateway node, 0-4 (gwN-pod1..), wired like worker pods: for
   * "gateway nodes' own pods" cases. Default 0.
   */
  podsPerGateway?: number;
  /**
   * Put the last worker on a second node subnet (192.168.78.0/24) behind a router
   * namespace, for "nodes on different subnets" cases. Default false.
   */
  workerBehindRouter?: boolean;
  /** MTU of the node network (bridge and node eth0). Default 1500. */
  nodeMtu?: number;
  /** MTU of the uplink network (gateways' eth1, the router's eth0). Default 1500. */
  uplinkMtu?: number;
  /** MTU of the link between the router and the outside server. Default 1500. */
  outsideMtu?: number;
  /**
   * Keep transmit checksum offload on the veths (the kernel default). veth pairs never
   * verify checksums when it is on, so a wrong checksum passes unnoticed (DESIGN.md,
   * pitfalls); tests that must catch checksum bugs set this to false. Default true.
   */
  txChecksumOffload?: boolean;
  /**
   * Add a `control-plane` namespace on the node network (192.168.77.2) where a test can
   * expose its in-process API server with Lab.bridgeToUnixSocket: agents in node
   * namespaces cannot reach the root namespace, by design. Default false.
   */
  controlPlane?: boolean;
  /** Start the source-reporting server and `iperf3 -s` in the outside namespace. Default true. */
  outsideServices?: boolean;
  /** Namespace prefix; default a fresh `egwlab-<pid>-<tag>`. Must match that shape. */
  prefix?: string;
}

export type ResolvedLabSpec = Required<Omit<LabSpec, 'prefix'>> & { prefix: string | undefined };

export const labSpecDefaults = {
  gateways: 2,
  workers: 1,
  podsPerWorker: 2,
  podsPerGateway: 0,
  workerBehindRouter: false,
  nodeMtu: 1500,
  uplinkMtu: 1500,
  outsideMtu: 1500,
  txChecksumOffload: true,
  controlPlane: false,
  outsideServices: true,
} as const satisfies Omit<ResolvedLabSpec, 'prefix'>;

// 576 is the smallest datagram every IPv4 host must accept (RFC 791); 9000 is the usual
// jumbo frame. Anything outside is more likely a typo than a test.
const MTU_MIN = 576;
const MTU_MAX = 9000;

function checkCount(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new LabError(
      'EGW_LAB_BAD_SPEC',
      `${field} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

function checkBoolean(field: string, value: unknown): boolean {
  if (typeof value !== 'boolean') {
    throw new LabError('EGW_LAB_BAD_SPEC', `${field} must be true or false`);
  }
  return value;
}

/** Fills defaults and checks ranges. Throws LabError EGW_LAB_BAD_SPEC. */
export function resolveLabSpec(spec: LabSpec = {}): ResolvedLabSpec {
  if (typeof spec !== 'object' || spec === null) {
    throw new LabError('EGW_LAB_BAD_SPEC', 'lab spec must be an object');
  }
  const known = new Set([...Object.keys(labSpecDefaults), 'prefix']);
  for (const key of Object.keys(spec)) {
    if (!known.has(key)) throw new LabError('EGW_LAB_BAD_SPEC', `unknown lab spec field ${key}`);
  }
  const merged = { ...labSpecDefaults, ...spec };
  if (merged.prefix !== undefined) checkLabPrefix(merged.prefix);
  return {
    gateways: checkCount('gateways', merged.gateways, 1, 3),
    workers: checkCount('workers', merged.workers, 1, 2),
    podsPerWorker: checkCount('podsPerWorker', merged.podsPerWorker, 1, 8),
    podsPerGateway: checkCount('podsPerGateway', merged.podsPerGateway, 0, 4),
    workerBehindRouter: checkBoolean('workerBehindRouter', merged.workerBehindRouter),
    nodeMtu: checkCount('nodeMtu', merged.nodeMtu, MTU_MIN, MTU_MAX),
    uplinkMtu: checkCount('uplinkMtu', merged.uplinkMtu, MTU_MIN, MTU_MAX),
    outsideMtu: checkCount('outsideMtu', merged.outsideMtu, MTU_MIN, MTU_MAX),
    txChecksumOffload: checkBoolean('txChecksumOffload', merged.txChecksumOffload),
    controlPlane: checkBoolean('controlPlane', merged.controlPlane),
    outsideServices: checkBoolean('outsideServices', merged.outsideServices),
    prefix: merged.prefix,
  };
}
