import { type Static, Type } from '@sinclair/typebox';
import {
  CidrString,
  Conditions,
  ConnectionCount,
  IPv4String,
  LabelSelector,
  ObjectEnvelope,
  StrictObject,
} from './schema-kit.ts';

/**
 * The Antrea API, crd.antrea.io, as in the seed (antrea-egress.zh.md): Egress selects
 * pods and names their SNAT address; ExternalIPPool holds addresses for Egresses and the
 * nodes that may carry them. v1alpha2 (the seed) and v1beta1 are served with one schema;
 * v1beta1 is stored. Antrea's later fields (egressIPs, externalIPPools, bandwidth,
 * subnetInfo) are not supported: the API server prunes them.
 */

export const antreaGroup = 'crd.antrea.io';
export const antreaVersions = ['v1alpha2', 'v1beta1'] as const;
export const antreaStorageVersion = 'v1beta1';
export const antreaApiVersions = antreaVersions.map((version) => `${antreaGroup}/${version}`);

export const EgressSpec = StrictObject({
  appliedTo: StrictObject(
    {
      namespaceSelector: Type.Optional(
        LabelSelector({
          description:
            'Namespaces whose pods are selected, by namespace labels ' +
            '(kubernetes.io/metadata.name is the name).',
        }),
      ),
      podSelector: Type.Optional(
        LabelSelector({ description: 'Pods selected, in every namespace unless narrowed.' }),
      ),
    },
    { description: 'The pods this Egress applies to; an empty appliedTo selects nothing.' },
  ),
  egressIP: Type.Optional(
    IPv4String({
      description:
        'The SNAT address. Without externalIPPool the node that holds it serves it; with ' +
        'externalIPPool it must lie in the pool.',
    }),
  ),
  externalIPPool: Type.Optional(
    Type.String({
      minLength: 1,
      description: 'The ExternalIPPool to allocate egressIP from and to pick the node from.',
    }),
  ),
});
export type EgressSpec = Static<typeof EgressSpec>;

export const EgressStatus = StrictObject({
  egressNode: Type.Optional(Type.String({ description: 'The node that holds the egress IP.' })),
  egressIP: Type.Optional(
    IPv4String({ description: 'The effective egress IP, allocated or static.' }),
  ),
  connections: Type.Optional(ConnectionCount()),
  conditions: Type.Optional(Conditions()),
});
export type EgressStatus = Static<typeof EgressStatus>;

export const Egress = ObjectEnvelope(antreaApiVersions, 'Egress', EgressSpec, EgressStatus);
export type Egress = Static<typeof Egress>;

export const IPRange = StrictObject(
  {
    cidr: Type.Optional(CidrString()),
    start: Type.Optional(IPv4String()),
    end: Type.Optional(IPv4String()),
  },
  {
    description: 'Either cidr, or start and end (inclusive).',
    // Exactly one form per entry; the `not` parts close the hole that a plain
    // oneOf of the two `required` lists leaves (cidr plus start alone would pass).
    oneOf: [
      {
        required: ['cidr'],
        not: { anyOf: [{ required: ['start'] }, { required: ['end'] }] },
      },
      { required: ['start', 'end'], not: { required: ['cidr'] } },
    ],
  },
);
export type IPRange = Static<typeof IPRange>;

export const ExternalIPPoolSpec = StrictObject({
  ipRanges: Type.Array(IPRange, {
    minItems: 1,
    description:
      'The addresses of the pool. A cidr of /30 or wider gives all but its network and ' +
      'broadcast addresses; a range gives every address from start to end.',
  }),
  nodeSelector: Type.Optional(
    LabelSelector({ description: 'Nodes that may carry the pool’s IPs; empty selects all.' }),
  ),
});
export type ExternalIPPoolSpec = Static<typeof ExternalIPPoolSpec>;

export const ExternalIPPoolStatus = StrictObject({
  usage: Type.Optional(
    StrictObject({
      total: Type.Integer({ format: 'int64', minimum: 0, description: 'Usable addresses.' }),
      used: Type.Integer({ format: 'int64', minimum: 0, description: 'Addresses in use.' }),
    }),
  ),
  conditions: Type.Optional(Conditions()),
});
export type ExternalIPPoolStatus = Static<typeof ExternalIPPoolStatus>;

export const ExternalIPPool = ObjectEnvelope(
  antreaApiVersions,
  'ExternalIPPool',
  ExternalIPPoolSpec,
  ExternalIPPoolStatus,
);
export type ExternalIPPool = Static<typeof ExternalIPPool>;
