import type { Egress } from '../api/antrea.ts';
import type { EgressGateway } from '../api/deckhouse.ts';
import { error } from '../api/issue.ts';
import type { IPv4 } from '../model/addresses.ts';
import { formatIPv4, parseIPv4 } from '../model/cidr.ts';
import { AddressBook } from './address-book.ts';
import { type Entries, type Entry, reject } from './entries.ts';
import { type Claimant, compareClaimants } from './ordering.ts';
import { firstFree, type PoolView, poolHas, poolView } from './pool.ts';

/**
 * Gives every usable gateway VIP and Egress its egress address, cluster-wide, and refuses
 * the ones that cannot have it. Two passes, both in claim order (ordering.ts, oldest
 * first):
 *  1. addresses already decided: a gateway's VIP, an Egress's spec.egressIP, and the
 *     status.egressIP of a pool Egress when that address is still a usable address of
 *     its pool (this is what keeps an allocation across restarts and recompiles: the
 *     status is the record). An explicit address somebody older holds is an IPConflict;
 *     a recorded one that is no longer free is simply dropped and allocated anew.
 *  2. pool Egresses without an address get the lowest free one of their pool
 *     (pool.ts), or PoolExhausted.
 * Addresses are unique across both APIs: a pool never hands out a gateway's VIP.
 */

export type EgressAddress =
  /** egressIP without a pool: the node that holds the address serves it. */
  | { kind: 'static'; ip: IPv4 }
  /**
   * An address of `pool`: from spec.egressIP, or allocated (newly, or kept from the
   * status; the two read the same, so that the status written is a fixed point).
   */
  | { kind: 'pool'; ip: IPv4; pool: string; fromSpec: boolean }
  /** No address: the pool is invalid or full. */
  | { kind: 'none'; reason: 'PoolExhausted' | 'PoolInvalid'; message: string };

export interface PoolUsage {
  total: number;
  /** Usable addresses of the pool held by anyone (an Egress, or a VIP inside the pool). */
  used: number;
}

export interface AddressPlan {
  /** By Egress name, for every Egress still usable after planning. */
  egresses: Map<string, EgressAddress>;
  /** By pool name, for every valid pool. */
  pools: Map<string, PoolUsage>;
}

interface Claim extends Claimant {
  address: number;
  /** An explicit claim (VIP, spec.egressIP) conflicts; a recorded one just yields. */
  explicit: boolean;
  entry: Entry<EgressGateway> | Entry<Egress>;
  field: string;
  pool: string | null;
}

function recordedAddress(egress: Egress, view: PoolView): number | null {
  const text = egress.status?.egressIP;
  if (text === undefined) return null;
  try {
    const address = parseIPv4(text);
    return poolHas(view, address) ? address : null;
  } catch {
    return null; // a status we cannot read records nothing
  }
}

function egressClaimant(entry: Entry<Egress>): Claimant {
  return {
    kind: 'Egress',
    name: entry.name,
    creationTimestamp: entry.object?.metadata.creationTimestamp,
  };
}

function gatewayClaims(gateways: readonly Entry<EgressGateway>[]): Claim[] {
  const claims: Claim[] = [];
  for (const entry of gateways) {
    const vip = entry.object?.spec.sourceIP.virtualIPAddress?.ip;
    if (entry.object === null || entry.object.spec.sourceIP.mode !== 'VirtualIPAddress' || !vip) {
      continue;
    }
    claims.push({
      kind: 'EgressGateway',
      name: entry.name,
      creationTimestamp: entry.object.metadata.creationTimestamp,
      address: parseIPv4(vip),
      explicit: true,
      entry,
      field: 'spec.sourceIP.virtualIPAddress.ip',
      pool: null,
    });
  }
  return claims;
}

/**
 * The claims of the Egresses, and the pool Egresses that may need an allocation. Refuses
 * (PoolNotFound, IPNotInPool) or settles (PoolInvalid) the ones that can have no address.
 */
function egressClaims(
  egresses: readonly Entry<Egress>[],
  poolNames: ReadonlySet<string>,
  views: ReadonlyMap<string, PoolView>,
  plan: AddressPlan,
): { claims: Claim[]; waiting: Entry<Egress>[] } {
  const claims: Claim[] = [];
  const waiting: Entry<Egress>[] = [];
  for (const entry of egresses) {
    if (entry.object === null) continue;
    const { egressIP, externalIPPool } = entry.object.spec;
    const claim = { ...egressClaimant(entry), entry, explicit: true, field: 'spec.egressIP' };
    if (externalIPPool === undefined) {
      // Without a pool, egressIP is present (api/semantic.ts).
      claims.push({ ...claim, address: parseIPv4(egressIP!), pool: null });
      continue;
    }
    if (!poolNames.has(externalIPPool)) {
      reject(
        entry,
        error('PoolNotFound', `spec.externalIPPool: no ExternalIPPool named ${externalIPPool}`),
      );
      continue;
    }
    const view = views.get(externalIPPool);
    if (view === undefined) {
      plan.egresses.set(entry.name, {
        kind: 'none',
        reason: 'PoolInvalid',
        message: `ExternalIPPool ${externalIPPool} is invalid (see its Valid condition)`,
      });
      continue;
    }
    if (egressIP !== undefined) {
      const address = parseIPv4(egressIP);
      if (poolHas(view, address)) {
        claims.push({ ...claim, address, pool: externalIPPool });
      } else {
        reject(
          entry,
          error(
            'IPNotInPool',
            `spec.egressIP: ${egressIP} is not a usable address of ExternalIPPool ` +
              `${externalIPPool} (${view.ranges.map((r) => r.text).join(', ')})`,
          ),
        );
      }
      continue;
    }
    const recorded = recordedAddress(entry.object, view);
    if (recorded !== null) {
      claims.push({
        ...claim,
        explicit: false,
        field: 'status.egressIP',
        address: recorded,
        pool: externalIPPool,
      });
    }
    waiting.push(entry);
  }
  return { claims, waiting };
}

export function planAddresses(entries: Entries): AddressPlan {
  const views = new Map<string, PoolView>();
  for (const pool of entries.pools) {
    if (pool.object !== null) views.set(pool.name, poolView(pool.object));
  }
  const poolNames = new Set(entries.pools.map((p) => p.name));
  const plan: AddressPlan = { egresses: new Map(), pools: new Map() };
  const book = new AddressBook();

  // Pass 1: decided addresses, oldest claimant first.
  const { claims, waiting } = egressClaims(entries.egresses, poolNames, views, plan);
  for (const claim of [...gatewayClaims(entries.gateways), ...claims].sort(compareClaimants)) {
    const owner = book.claim(claim.address, `${claim.kind}/${claim.name}`);
    if (owner !== null) {
      const message = `${claim.field}: ${formatIPv4(claim.address)} is already used by ${owner}`;
      if (claim.explicit) reject(claim.entry, error('IPConflict', message));
    } else if (claim.kind === 'Egress') {
      const ip = formatIPv4(claim.address);
      plan.egresses.set(
        claim.name,
        claim.pool === null
          ? { kind: 'static', ip }
          : { kind: 'pool', ip, pool: claim.pool, fromSpec: claim.explicit },
      );
    }
  }

  // Pass 2: new allocations, oldest Egress first.
  const unallocated = waiting.filter((entry) => !plan.egresses.has(entry.name));
  unallocated.sort((a, b) => compareClaimants(egressClaimant(a), egressClaimant(b)));
  for (const entry of unallocated) {
    const poolName = entry.object!.spec.externalIPPool!;
    const view = views.get(poolName)!;
    const address = firstFree(view, book);
    if (address === null) {
      plan.egresses.set(entry.name, {
        kind: 'none',
        reason: 'PoolExhausted',
        message: `ExternalIPPool ${poolName} has no free address (all ${view.total} are in use)`,
      });
      continue;
    }
    book.claim(address, `Egress/${entry.name}`);
    const ip = formatIPv4(address);
    plan.egresses.set(entry.name, { kind: 'pool', ip, pool: poolName, fromSpec: false });
  }

  for (const [name, view] of views) {
    plan.pools.set(name, { total: view.total, used: book.count((a) => poolHas(view, a)) });
  }
  return plan;
}
