import { type Static, Type } from '@sinclair/typebox';
import {
  CidrString,
  Conditions,
  ConnectionCount,
  IPv4String,
  LabelSelector,
  ObjectEnvelope,
  StrictObject,
  StringEnum,
  StringMap,
} from './schema-kit.ts';

/**
 * The Deckhouse API, network.deckhouse.io/v1alpha1, as in the seeds
 * (deckhouse-egress-gateway.*): EgressGateway names a group of nodes and how its source
 * IP is obtained; EgressGatewayPolicy sends selected pods' traffic to a gateway.
 * `excludedCIDRs` and the status fields are egressgw's additions.
 */

export const deckhouseGroup = 'network.deckhouse.io';
export const deckhouseVersion = 'v1alpha1';
export const deckhouseApiVersion = `${deckhouseGroup}/${deckhouseVersion}`;

export const sourceIPModes = [
  'PrimaryIPFromEgressGatewayNodeInterface',
  'VirtualIPAddress',
] as const;
export type SourceIPMode = (typeof sourceIPModes)[number];

export const EgressGatewaySpec = StrictObject({
  nodeSelector: Type.Optional(
    StringMap({
      description:
        'Labels of the nodes in the group; every label must match. Empty selects all nodes.',
    }),
  ),
  sourceIP: StrictObject(
    {
      mode: StringEnum(sourceIPModes, {
        description:
          'PrimaryIPFromEgressGatewayNodeInterface: the active node’s primary IPv4 on an ' +
          'interface (changes on failover). VirtualIPAddress: a VIP that moves with the ' +
          'active node (never changes).',
      }),
      primaryIPFromEgressGatewayNodeInterface: Type.Optional(
        StrictObject({
          interfaceName: Type.String({
            minLength: 1,
            description: 'The public interface; it must have this name on every node.',
          }),
        }),
      ),
      virtualIPAddress: Type.Optional(
        StrictObject({
          ip: IPv4String({
            description: 'The VIP; it must lie in the subnet of a public interface of the nodes.',
          }),
        }),
      ),
    },
    { description: 'Where the source address of translated traffic comes from.' },
  ),
});
export type EgressGatewaySpec = Static<typeof EgressGatewaySpec>;

export const EgressGatewayStatus = StrictObject({
  observedGeneration: Type.Optional(Type.Integer({ format: 'int64', minimum: 0 })),
  activeNode: Type.Optional(
    Type.String({ description: 'The node that translates the traffic now.' }),
  ),
  egressIP: Type.Optional(
    IPv4String({ description: 'The source address outside servers see now.' }),
  ),
  readyNodes: Type.Optional(
    Type.Integer({
      format: 'int32',
      minimum: 0,
      description: 'Selected nodes that are Ready, not cordoned and run a ready agent.',
    }),
  ),
  connections: Type.Optional(ConnectionCount()),
  conditions: Type.Optional(Conditions()),
});
export type EgressGatewayStatus = Static<typeof EgressGatewayStatus>;

export const EgressGateway = ObjectEnvelope(
  [deckhouseApiVersion],
  'EgressGateway',
  EgressGatewaySpec,
  EgressGatewayStatus,
);
export type EgressGateway = Static<typeof EgressGateway>;

export const EgressGatewayPolicySpec = StrictObject({
  destinationCIDRs: Type.Array(CidrString(), {
    minItems: 1,
    description: 'Destinations whose traffic goes through the gateway; 0.0.0.0/0 for all.',
  }),
  excludedCIDRs: Type.Optional(
    Type.Array(CidrString(), {
      description:
        'Destinations inside destinationCIDRs that stay on the normal path. Cluster CIDRs ' +
        'are always excluded.',
    }),
  ),
  egressGatewayName: Type.String({ minLength: 1, description: 'The EgressGateway to use.' }),
  selectors: Type.Array(
    StrictObject({
      podSelector: LabelSelector({
        description:
          'Pods to redirect. The pseudo-label io.kubernetes.pod.namespace selects the namespace.',
      }),
    }),
    { minItems: 1, description: 'A pod is selected when any entry selects it.' },
  ),
});
export type EgressGatewayPolicySpec = Static<typeof EgressGatewayPolicySpec>;

export const EgressGatewayPolicyStatus = StrictObject({
  observedGeneration: Type.Optional(Type.Integer({ format: 'int64', minimum: 0 })),
  conditions: Type.Optional(Conditions()),
});
export type EgressGatewayPolicyStatus = Static<typeof EgressGatewayPolicyStatus>;

export const EgressGatewayPolicy = ObjectEnvelope(
  [deckhouseApiVersion],
  'EgressGatewayPolicy',
  EgressGatewayPolicySpec,
  EgressGatewayPolicyStatus,
);
export type EgressGatewayPolicy = Static<typeof EgressGatewayPolicy>;
