import { formatIPv4, isCanonicalCidr, parseIPv4 } from '../model/cidr.ts';
import type { Egress, ExternalIPPool } from './antrea.ts';
import type { EgressGateway, EgressGatewayPolicy } from './deckhouse.ts';
import { type PoolRange, poolRange } from './ip-ranges.ts';
import { error, type Issue, warning } from './issue.ts';
import type { ResourceKind } from './resources.ts';

/**
 * Checks of one object that the schema cannot express: fields a mode needs, addresses
 * that parse but cannot be a source, ranges backwards or overlapping, selectors whose
 * values do not fit their operator. Run only on objects that passed the schema, so every
 * field has its declared type here. Checks that need other objects or the cluster (an
 * unknown gateway, a VIP outside the nodes' subnets, a full pool) are in host/control/.
 */

type LabelSelector = {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
};

/** Blocks that can never be a source address of translated traffic (RFC 6890). */
const NON_SOURCE_BLOCKS: readonly { first: number; last: number; what: string }[] = [
  { first: 0x00000000, last: 0x00ffffff, what: 'in 0.0.0.0/8 ("this network")' },
  { first: 0x7f000000, last: 0x7fffffff, what: 'a loopback address' },
  { first: 0xe0000000, last: 0xefffffff, what: 'a multicast address' },
  { first: 0xf0000000, last: 0xffffffff, what: 'reserved or broadcast (240.0.0.0/4)' },
];

/** Issues for an address that parses but cannot be an egress source address. */
export function sourceAddressIssues(path: string, text: string): Issue[] {
  const address = parseIPv4(text);
  const block = NON_SOURCE_BLOCKS.find((b) => address >= b.first && address <= b.last);
  if (block === undefined) return [];
  return [error('InvalidIP', `${path}: ${text} is ${block.what}, not usable as a source address`)];
}

function cidrListIssues(path: string, cidrs: readonly string[] | undefined): Issue[] {
  const issues: Issue[] = [];
  (cidrs ?? []).forEach((cidr, i) => {
    if (!isCanonicalCidr(cidr)) {
      issues.push(
        warning(
          'NonCanonicalCIDR',
          `${path}[${i}]: ${cidr} has host bits set; it is read as its network address`,
        ),
      );
    }
  });
  return issues;
}

export function selectorIssues(path: string, selector: LabelSelector | undefined): Issue[] {
  const issues: Issue[] = [];
  (selector?.matchExpressions ?? []).forEach((requirement, i) => {
    const count = requirement.values?.length ?? 0;
    const where = `${path}.matchExpressions[${i}]`;
    if ((requirement.operator === 'In' || requirement.operator === 'NotIn') && count === 0) {
      issues.push(
        error(
          'InvalidSelector',
          `${where}: operator ${requirement.operator} needs at least one value`,
        ),
      );
    }
    if (
      (requirement.operator === 'Exists' || requirement.operator === 'DoesNotExist') &&
      count > 0
    ) {
      issues.push(
        error('InvalidSelector', `${where}: operator ${requirement.operator} takes no values`),
      );
    }
  });
  return issues;
}

function gatewayIssues(gateway: EgressGateway): Issue[] {
  const { sourceIP } = gateway.spec;
  if (sourceIP.mode === 'PrimaryIPFromEgressGatewayNodeInterface') {
    if (sourceIP.primaryIPFromEgressGatewayNodeInterface === undefined) {
      return [
        error(
          'MissingField',
          'spec.sourceIP.primaryIPFromEgressGatewayNodeInterface: required in mode ' +
            'PrimaryIPFromEgressGatewayNodeInterface (give interfaceName)',
        ),
      ];
    }
    return [];
  }
  if (sourceIP.virtualIPAddress === undefined) {
    return [
      error(
        'MissingField',
        'spec.sourceIP.virtualIPAddress: required in mode VirtualIPAddress (give ip)',
      ),
    ];
  }
  return sourceAddressIssues('spec.sourceIP.virtualIPAddress.ip', sourceIP.virtualIPAddress.ip);
}

function policyIssues(policy: EgressGatewayPolicy): Issue[] {
  const { spec } = policy;
  return [
    ...cidrListIssues('spec.destinationCIDRs', spec.destinationCIDRs),
    ...cidrListIssues('spec.excludedCIDRs', spec.excludedCIDRs),
    ...spec.selectors.flatMap((entry, i) =>
      selectorIssues(`spec.selectors[${i}].podSelector`, entry.podSelector),
    ),
  ];
}

function egressIssues(egress: Egress): Issue[] {
  const { spec } = egress;
  const issues: Issue[] = [];
  if (spec.egressIP === undefined && spec.externalIPPool === undefined) {
    issues.push(
      error(
        'MissingField',
        'spec: give egressIP, externalIPPool, or both (the IP must lie in the pool)',
      ),
    );
  }
  if (spec.egressIP !== undefined)
    issues.push(...sourceAddressIssues('spec.egressIP', spec.egressIP));
  issues.push(
    ...selectorIssues('spec.appliedTo.namespaceSelector', spec.appliedTo.namespaceSelector),
  );
  issues.push(...selectorIssues('spec.appliedTo.podSelector', spec.appliedTo.podSelector));
  return issues;
}

function poolIssues(pool: ExternalIPPool): Issue[] {
  const issues: Issue[] = [];
  const ranges: { index: number; range: PoolRange }[] = [];
  pool.spec.ipRanges.forEach((entry, index) => {
    const path = `spec.ipRanges[${index}]`;
    const range = poolRange(entry);
    if (entry.cidr !== undefined && !isCanonicalCidr(entry.cidr)) {
      issues.push(
        warning(
          'NonCanonicalCIDR',
          `${path}.cidr: ${entry.cidr} has host bits set; it is read as its network address`,
        ),
      );
    }
    if (range.first > range.last) {
      issues.push(error('InvalidRange', `${path}: start ${entry.start} is above end ${entry.end}`));
      return;
    }
    ranges.push({ index, range });
  });
  // Sorted by first address, each range can only overlap ranges that start before it ends.
  ranges.sort((a, b) => a.range.first - b.range.first || a.index - b.index);
  for (let i = 0; i < ranges.length; i++) {
    const a = ranges[i]!;
    for (let j = i + 1; j < ranges.length && ranges[j]!.range.first <= a.range.last; j++) {
      const b = ranges[j]!;
      const [lower, upper] = a.index < b.index ? [a, b] : [b, a];
      issues.push(
        error(
          'OverlappingRanges',
          `spec.ipRanges[${lower.index}] (${lower.range.text}) and spec.ipRanges[${upper.index}] ` +
            `(${upper.range.text}) overlap at ${formatIPv4(b.range.first)}`,
        ),
      );
    }
  }
  issues.push(...selectorIssues('spec.nodeSelector', pool.spec.nodeSelector));
  return issues;
}

/** The semantic issues of a schema-valid object of `kind`. */
export function semanticIssues(kind: ResourceKind, object: unknown): Issue[] {
  switch (kind) {
    case 'EgressGateway':
      return gatewayIssues(object as EgressGateway);
    case 'EgressGatewayPolicy':
      return policyIssues(object as EgressGatewayPolicy);
    case 'Egress':
      return egressIssues(object as Egress);
    case 'ExternalIPPool':
      return poolIssues(object as ExternalIPPool);
  }
}
