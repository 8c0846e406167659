import type { TSchema } from '@sinclair/typebox';
import {
  antreaGroup,
  antreaStorageVersion,
  antreaVersions,
  Egress,
  EgressSpec,
  EgressStatus,
  ExternalIPPool,
  ExternalIPPoolSpec,
  ExternalIPPoolStatus,
} from './antrea.ts';
import {
  deckhouseGroup,
  deckhouseVersion,
  EgressGateway,
  EgressGatewayPolicy,
  EgressGatewayPolicySpec,
  EgressGatewayPolicyStatus,
  EgressGatewaySpec,
  EgressGatewayStatus,
} from './deckhouse.ts';

/**
 * The four kinds egressgw reads, with everything the CRD generator and the validator
 * need to know about each: one table, so a kind cannot be served by one and missed by
 * the other.
 */

export const resourceKinds = [
  'EgressGateway',
  'EgressGatewayPolicy',
  'Egress',
  'ExternalIPPool',
] as const;
export type ResourceKind = (typeof resourceKinds)[number];

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'date';
  jsonPath: string;
  description?: string;
}

export interface ResourceDefinition {
  kind: ResourceKind;
  group: string;
  plural: string;
  singular: string;
  shortNames: string[];
  /** Served versions, oldest first; all share one schema. */
  versions: readonly string[];
  storageVersion: string;
  spec: TSchema;
  status: TSchema;
  /** The whole object as ajv checks it (envelope, spec, status). */
  object: TSchema;
  printerColumns: PrinterColumn[];
}

const readyColumn: PrinterColumn = {
  name: 'Ready',
  type: 'string',
  jsonPath: '.status.conditions[?(@.type=="Ready")].status',
  description: 'Whether traffic flows as asked; see the Ready condition for why not.',
};

const ageColumn: PrinterColumn = {
  name: 'Age',
  type: 'date',
  jsonPath: '.metadata.creationTimestamp',
};

export const resources: Record<ResourceKind, ResourceDefinition> = {
  EgressGateway: {
    kind: 'EgressGateway',
    group: deckhouseGroup,
    plural: 'egressgateways',
    singular: 'egressgateway',
    shortNames: [],
    versions: [deckhouseVersion],
    storageVersion: deckhouseVersion,
    spec: EgressGatewaySpec,
    status: EgressGatewayStatus,
    object: EgressGateway,
    printerColumns: [
      { name: 'Mode', type: 'string', jsonPath: '.spec.sourceIP.mode' },
      {
        name: 'Active Node',
        type: 'string',
        jsonPath: '.status.activeNode',
        description: 'The node that translates the traffic now.',
      },
      {
        name: 'IP',
        type: 'string',
        jsonPath: '.status.egressIP',
        description: 'The source address outside servers see now.',
      },
      readyColumn,
    ],
  },
  EgressGatewayPolicy: {
    kind: 'EgressGatewayPolicy',
    group: deckhouseGroup,
    plural: 'egressgatewaypolicies',
    singular: 'egressgatewaypolicy',
    shortNames: [],
    versions: [deckhouseVersion],
    storageVersion: deckhouseVersion,
    spec: EgressGatewayPolicySpec,
    status: EgressGatewayPolicyStatus,
    object: EgressGatewayPolicy,
    printerColumns: [
      { name: 'Gateway', type: 'string', jsonPath: '.spec.egressGatewayName' },
      readyColumn,
    ],
  },
  Egress: {
    kind: 'Egress',
    group: antreaGroup,
    plural: 'egresses',
    singular: 'egress',
    shortNames: ['eg'],
    versions: antreaVersions,
    storageVersion: antreaStorageVersion,
    spec: EgressSpec,
    status: EgressStatus,
    object: Egress,
    // EGRESSIP, AGE, NODE as in the seed's `kubectl get egress`. The IP comes from the
    // status so that allocated addresses show too (Antrea writes them into the spec).
    printerColumns: [
      {
        name: 'EgressIP',
        type: 'string',
        jsonPath: '.status.egressIP',
        description: 'The SNAT address of the selected pods.',
      },
      ageColumn,
      {
        name: 'Node',
        type: 'string',
        jsonPath: '.status.egressNode',
        description: 'The node that holds the egress IP.',
      },
    ],
  },
  ExternalIPPool: {
    kind: 'ExternalIPPool',
    group: antreaGroup,
    plural: 'externalippools',
    singular: 'externalippool',
    shortNames: ['eip'],
    versions: antreaVersions,
    storageVersion: antreaStorageVersion,
    spec: ExternalIPPoolSpec,
    status: ExternalIPPoolStatus,
    object: ExternalIPPool,
    printerColumns: [
      { name: 'Total', type: 'integer', jsonPath: '.status.usage.total' },
      { name: 'Used', type: 'integer', jsonPath: '.status.usage.used' },
      ageColumn,
    ],
  },
};

/**
 * The kind an (apiVersion, kind) pair names, or null when egressgw does not read it.
 * The version is not checked here: an unserved version of a known kind is the
 * validator's to report, with the versions that are served.
 */
export function resourceFor(apiVersion: unknown, kind: unknown): ResourceDefinition | null {
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') return null;
  const definition = (resources as Record<string, ResourceDefinition | undefined>)[kind];
  if (definition === undefined) return null;
  const group = apiVersion.slice(0, Math.max(0, apiVersion.indexOf('/')));
  return group === definition.group ? definition : null;
}
