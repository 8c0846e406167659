import { CidrError, parseIPv4 } from '../model/cidr.ts';
import type { FlowRecord } from './nat-engine.ts';

/**
 * A flow record (from another node's export) checked field by field before it goes near
 * a flow table. Both the core's loader and the reference model take records through
 * this, so that they skip exactly the same ones.
 */
export interface CheckedFlowRecord {
  proto: 1 | 6 | 17;
  /** The state byte: code in the low 3 bits, flags 0x08 replied, 0x10/0x20 FIN out/in. */
  state: number;
  internalIP: number;
  internalPort: number;
  remoteIP: number;
  remotePort: number;
  egressIP: number;
  egressPort: number;
  remainingMs: number;
}

const STATE_CODE = 0x07;
const STATE_FLAGS = 0x38;
/** TCP may be in any state; UDP and ICMP flows are only established or unreplied. */
const TCP_CODES = new Set([1, 2, 3, 4, 5, 6, 7]);
const DATAGRAM_CODES = new Set([3, 7]);

function isPort(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= 0xffff;
}

function address(text: string): number | undefined {
  try {
    return parseIPv4(text);
  } catch (error) {
    if (error instanceof CidrError) return undefined;
    throw error;
  }
}

/**
 * The record parsed, or undefined when it must be skipped: an unknown protocol, a state
 * byte the protocol cannot have, a port outside 0..65535, an ICMP echo flow with a remote
 * port (echo flows have remotePort 0), remainingMs outside 1..2^31-1, a bad address.
 */
export function checkFlowRecord(record: FlowRecord): CheckedFlowRecord | undefined {
  const { proto, state } = record;
  if (proto !== 6 && proto !== 17 && proto !== 1) return undefined;
  if (!Number.isInteger(state) || (state & ~(STATE_CODE | STATE_FLAGS)) !== 0) return undefined;
  if (!(proto === 6 ? TCP_CODES : DATAGRAM_CODES).has(state & STATE_CODE)) return undefined;
  if (!isPort(record.internalPort) || !isPort(record.remotePort) || !isPort(record.egressPort)) {
    return undefined;
  }
  if (proto === 1 && record.remotePort !== 0) return undefined;
  if (
    !Number.isInteger(record.remainingMs) ||
    record.remainingMs < 1 ||
    record.remainingMs > 0x7fffffff
  ) {
    return undefined;
  }
  const internalIP = address(record.internalIP);
  const remoteIP = address(record.remoteIP);
  const egressIP = address(record.egressIP);
  if (internalIP === undefined || remoteIP === undefined || egressIP === undefined)
    return undefined;
  return {
    proto,
    state,
    internalIP,
    internalPort: record.internalPort,
    remoteIP,
    remotePort: record.remotePort,
    egressIP,
    egressPort: record.egressPort,
    remainingMs: record.remainingMs,
  };
}
