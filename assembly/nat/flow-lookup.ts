// Finding a usable flow for a tuple, and creating one for a new outbound tuple. Both
// the packet path and the ICMP error path come through here, so that expiry and table
// revalidation are applied the same way everywhere.

import { count, ctl, S_EPOCH } from '../control';
import { C_FLOWS_CREATED, C_FLOWS_EXPIRED, C_FLOWS_INVALIDATED, C_PORTS_PRESERVED } from '../counters';
import { maxFlows, seed } from '../layout';
import { E_IP, E_PORT_MAX, E_PORT_MIN, E_SLOT, egressEntry, resolveEgress } from '../route/policy-table';
import { initialState, isExpired } from './flow-state';
import {
  allocateFlow,
  entryFlow,
  F_EPOCH,
  F_EXPIRY,
  F_MAPPING,
  F_REMOTE_IP,
  F_REMOTE_PORT,
  F_STATE,
  flowRecord,
  indexFlow,
  lookupFlow,
  removeFlow,
} from './flows';
import { portHash } from './hash';
import {
  createMapping,
  findMapping,
  M_EGRESS_IP,
  M_INTERNAL_IP,
  mappingRecord,
  mappingSlot,
  retainMapping,
} from './mappings';
import { findFreePort, portInUse } from './ports';
import { evictOne, flowCount } from './sweep';

/** The current table epoch as flows store it (one byte, never 0: see bumpEpoch). */
@inline export function currentEpoch(): u8 {
  return <u8>ctl(S_EPOCH);
}

/**
 * Whether a flow still leaves through the address it was made for under the active
 * table: the rule for (internal, remote) must name the same slot and address.
 */
function stillValid(f: usize): bool {
  const m = mappingRecord(load<u32>(f, F_MAPPING));
  const e = resolveEgress(bswap<u32>(load<u32>(m, M_INTERNAL_IP)), bswap<u32>(load<u32>(f, F_REMOTE_IP)));
  if (e < 0) return false;
  const entry = egressEntry(<u32>e);
  return load<u32>(entry, E_SLOT) == mappingSlot(m) && bswap<u32>(load<u32>(entry, E_IP)) == load<u32>(m, M_EGRESS_IP);
}

/**
 * The index entry for the tuple if its flow is usable now, else 0. An expired flow is
 * freed here (the sweep may not have reached it); a flow from before a table swap is
 * checked once against the new table and freed if its rule moved.
 */
export function findFlow(proto: u32, src: u32, dst: u32, srcPort: u32, dstPort: u32, now: u32): u32 {
  const entry = lookupFlow(proto, src, dst, srcPort, dstPort);
  if (entry == 0) return 0;
  const index = entryFlow(entry);
  const f = flowRecord(index);
  if (isExpired(load<u32>(f, F_EXPIRY), now)) {
    removeFlow(index);
    count(C_FLOWS_EXPIRED);
    return 0;
  }
  const epoch = currentEpoch();
  if (load<u8>(f, F_EPOCH) != epoch) {
    if (!stillValid(f)) {
      removeFlow(index);
      count(C_FLOWS_INVALIDATED);
      return 0;
    }
    store<u8>(f, epoch, F_EPOCH);
  }
  return entry;
}

/** Result codes of createFlow besides a flow index. */
export const CREATE_NO_POLICY: i32 = -1;
export const CREATE_PORTS_EXHAUSTED: i32 = -2;

/**
 * Creates the flow for a new outbound tuple (raw src, dst, ports), with its mapping.
 * Returns the flow index or a CREATE_ code. The state byte is the initial one; the
 * caller applies the packet.
 */
export function createFlow(proto: u32, src: u32, dst: u32, srcPort: u32, dstPort: u32, tcpFlags: u32, now: u32): i32 {
  const e = resolveEgress(bswap<u32>(src), bswap<u32>(dst));
  if (e < 0) return CREATE_NO_POLICY;
  const entry = egressEntry(<u32>e);
  const slot = load<u32>(entry, E_SLOT);
  const egressIP = bswap<u32>(load<u32>(entry, E_IP));

  // Make room first: an eviction may free the very mapping this flow would share.
  if (flowCount() >= maxFlows) evictOne(now);

  let mapping = findMapping(proto, slot, egressIP, src, srcPort);
  if (mapping >= 0 && !retainMapping(<u32>mapping)) return CREATE_PORTS_EXHAUSTED;
  if (mapping < 0) {
    const min = <u32>load<u16>(entry, E_PORT_MIN);
    const max = <u32>load<u16>(entry, E_PORT_MAX);
    const internalPort = <u32>bswap<u16>(<u16>srcPort);
    let port: i32;
    if (internalPort >= min && internalPort <= max && !portInUse(slot, proto, internalPort)) {
      port = <i32>internalPort;
      count(C_PORTS_PRESERVED);
    } else {
      const start = min + (portHash(seed, bswap<u32>(src), internalPort, proto) % (max - min + 1));
      port = findFreePort(slot, proto, min, max, start);
      if (port < 0) return CREATE_PORTS_EXHAUSTED;
    }
    mapping = <i32>createMapping(proto, slot, egressIP, src, srcPort, <u32>bswap<u16>(<u16>port));
  }

  const index = allocateFlow();
  const f = flowRecord(index);
  store<u32>(f, <u32>mapping, F_MAPPING);
  store<u32>(f, dst, F_REMOTE_IP);
  store<u16>(f, <u16>dstPort, F_REMOTE_PORT);
  store<u8>(f, initialState(proto, tcpFlags), F_STATE);
  store<u8>(f, currentEpoch(), F_EPOCH);
  store<u32>(f, now, F_EXPIRY);
  indexFlow(index);
  count(C_FLOWS_CREATED);
  return <i32>index;
}
