import type { IPv4 } from '../model/addresses.ts';
import { CidrError, type CidrPrefix, parseCidr, parseIPv4 } from '../model/cidr.ts';
import type { NatPolicy } from '../model/nat-policy.ts';
import { PolicyTableError } from './policy-table-errors.ts';

/**
 * Checks a NatPolicy and its slots and turns every address into numbers, so that the
 * compiler works on input that cannot fail. Messages name the field by its path
 * (`rules[2].destinations[0]`) and quote the bad text.
 */

export interface ParsedEgress {
  ip: number;
  portMin: number;
  portMax: number;
  slot: number;
}

export interface ParsedRule {
  sources: CidrPrefix[];
  destinations: CidrPrefix[];
  excluded: CidrPrefix[];
  /** Index into ParsedPolicy.egress. */
  egressIndex: number;
}

export interface ParsedPolicy {
  egress: ParsedEgress[];
  rules: ParsedRule[];
}

export interface CompileLimits {
  /** Slots in the core: the most egress addresses a table may hold. */
  maxEgress?: number;
}

const MAX_PORT = 65535;

function isPort(value: unknown): value is number {
  // Port 0 is not a usable source port for TCP or UDP (RFC 6335 section 6: reserved).
  return Number.isInteger(value) && (value as number) >= 1 && (value as number) <= MAX_PORT;
}

function arrayAt(value: unknown, path: string): unknown[] {
  if (!Array.isArray(value)) throw new PolicyTableError('EGW_BAD_POLICY', `${path} is not a list`);
  return value;
}

function parseCidrList(value: unknown, path: string): CidrPrefix[] {
  return arrayAt(value, path).map((text, index) => {
    try {
      return parseCidr(text as string);
    } catch (error) {
      if (!(error instanceof CidrError)) throw error;
      throw new PolicyTableError('EGW_BAD_CIDR', `${path}[${index}]: ${error.message}`);
    }
  });
}

function parseAddress(text: unknown, path: string): number {
  try {
    return parseIPv4(text as string);
  } catch (error) {
    if (!(error instanceof CidrError)) throw error;
    throw new PolicyTableError('EGW_BAD_IP', `${path}: ${error.message}`);
  }
}

export function parsePolicy(
  policy: NatPolicy,
  slots: ReadonlyMap<IPv4, number>,
  limits: CompileLimits = {},
): ParsedPolicy {
  if (typeof policy !== 'object' || policy === null) {
    throw new PolicyTableError('EGW_BAD_POLICY', 'policy is not an object');
  }
  const egressList = arrayAt(policy.egress, 'egress') as NatPolicy['egress'];
  const { maxEgress } = limits;
  if (maxEgress !== undefined && egressList.length > maxEgress) {
    throw new PolicyTableError(
      'EGW_TOO_MANY_EGRESS',
      `${egressList.length} egress addresses, but the core has ${maxEgress} slots`,
    );
  }
  const indexByIP = new Map<number, number>();
  const slotOwner = new Map<number, IPv4>();
  const egress = egressList.map((entry, index): ParsedEgress => {
    const path = `egress[${index}]`;
    if (typeof entry !== 'object' || entry === null) {
      throw new PolicyTableError('EGW_BAD_POLICY', `${path} is not an object`);
    }
    const ip = parseAddress(entry.ip, `${path}.ip`);
    if (indexByIP.has(ip)) {
      throw new PolicyTableError(
        'EGW_DUPLICATE_EGRESS',
        `${path}.ip ${entry.ip} is already egress[${indexByIP.get(ip)}]`,
      );
    }
    indexByIP.set(ip, index);
    const { portMin, portMax } = entry;
    if (!isPort(portMin) || !isPort(portMax) || portMin > portMax) {
      throw new PolicyTableError(
        'EGW_BAD_PORT_RANGE',
        `${path} (${entry.ip}): port range ${portMin}-${portMax} is not within 1-65535 with min <= max`,
      );
    }
    const slot = slots.get(entry.ip);
    if (slot === undefined) {
      throw new PolicyTableError('EGW_BAD_SLOT', `${path}: ${entry.ip} has no slot`);
    }
    const slotLimit = maxEgress ?? 2 ** 32;
    if (!Number.isInteger(slot) || slot < 0 || slot >= slotLimit) {
      throw new PolicyTableError(
        'EGW_BAD_SLOT',
        `${path}: slot ${slot} of ${entry.ip} is not an integer in [0, ${slotLimit})`,
      );
    }
    const owner = slotOwner.get(slot);
    if (owner !== undefined) {
      throw new PolicyTableError(
        'EGW_BAD_SLOT',
        `${path}: ${entry.ip} shares slot ${slot} with ${owner}`,
      );
    }
    slotOwner.set(slot, entry.ip);
    return { ip, portMin, portMax, slot };
  });

  const rules = arrayAt(policy.rules, 'rules').map((value, index): ParsedRule => {
    const path = `rules[${index}]`;
    if (typeof value !== 'object' || value === null) {
      throw new PolicyTableError('EGW_BAD_POLICY', `${path} is not an object`);
    }
    const rule = value as NatPolicy['rules'][number];
    const egressIP = parseAddress(rule.egressIP, `${path}.egressIP`);
    const egressIndex = indexByIP.get(egressIP);
    if (egressIndex === undefined) {
      throw new PolicyTableError(
        'EGW_UNKNOWN_EGRESS',
        `${path}.egressIP ${rule.egressIP} is not one of the policy's egress addresses`,
      );
    }
    return {
      sources: parseCidrList(rule.sources, `${path}.sources`),
      destinations: parseCidrList(rule.destinations, `${path}.destinations`),
      excluded: parseCidrList(rule.excluded, `${path}.excluded`),
      egressIndex,
    };
  });
  return { egress, rules };
}
