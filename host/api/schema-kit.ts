import { type TSchema, type TUnsafe, Type } from '@sinclair/typebox';

/**
 * Schema building blocks shared by both APIs. Every schema here must stay expressible as
 * a Kubernetes structural schema (see openapi.ts), so the blocks avoid what TypeBox would
 * emit and the API server refuses: `const` (no such field in JSONSchemaProps), `anyOf`
 * over literals, and `patternProperties`.
 *
 * `additionalProperties: false` on objects makes ajv reject unknown fields, the way
 * `kubectl apply` with strict field validation does; openapi.ts drops it for the CRDs,
 * where the API server prunes instead.
 */

/** An object whose unknown fields are an error. */
export function StrictObject<T extends Parameters<typeof Type.Object>[0]>(
  properties: T,
  options: { description?: string; [keyword: string]: unknown } = {},
) {
  return Type.Object(properties, { ...options, additionalProperties: false });
}

/** A string that must be one of `values`: `enum`, which both ajv and the API server check. */
export function StringEnum<const T extends readonly string[]>(
  values: T,
  options: { description?: string } = {},
): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ ...options, type: 'string', enum: [...values] });
}

/** A map of string to string (labels, node selectors): `additionalProperties`, no patterns. */
export function StringMap(options: { description?: string } = {}): TUnsafe<Record<string, string>> {
  return Type.Unsafe<Record<string, string>>({
    ...options,
    type: 'object',
    additionalProperties: { type: 'string' },
  });
}

/** A dotted-quad IPv4 address; the `ipv4` format is checked by the API server and by ajv. */
export function IPv4String(options: { description?: string } = {}) {
  return Type.String({ ...options, format: 'ipv4' });
}

/** An IPv4 prefix "a.b.c.d/n"; the `cidr` format is checked by the API server and by ajv. */
export function CidrString(options: { description?: string } = {}) {
  return Type.String({ ...options, format: 'cidr' });
}

export const labelSelectorOperators = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;

/** metav1.LabelSelectorRequirement. */
export const LabelSelectorRequirement = StrictObject({
  key: Type.String({ minLength: 1, description: 'The label key that the selector applies to.' }),
  operator: StringEnum(labelSelectorOperators, {
    description: 'In, NotIn, Exists or DoesNotExist.',
  }),
  values: Type.Optional(
    Type.Array(Type.String(), {
      description: 'Values for In and NotIn (at least one); empty for Exists and DoesNotExist.',
    }),
  ),
});

/** metav1.LabelSelector: both parts must match; an empty selector matches everything. */
export function LabelSelector(options: { description?: string } = {}) {
  return StrictObject(
    {
      matchLabels: Type.Optional(StringMap({ description: 'Labels that must all be present.' })),
      matchExpressions: Type.Optional(
        Type.Array(LabelSelectorRequirement, { description: 'Requirements that must all hold.' }),
      ),
    },
    options,
  );
}

export const conditionStatuses = ['True', 'False', 'Unknown'] as const;

/** metav1.Condition, minus the parts only the status writer knows about. */
export const Condition = StrictObject({
  type: Type.String({ minLength: 1, description: 'Valid, Ready, IPAllocated or IPAssigned.' }),
  status: StringEnum(conditionStatuses),
  reason: Type.String({ description: 'A CamelCase word that says why; stable, match on it.' }),
  message: Type.String({ description: 'What happened, for people.' }),
  lastTransitionTime: Type.Optional(Type.String({ format: 'date-time' })),
  observedGeneration: Type.Optional(Type.Integer({ format: 'int64', minimum: 0 })),
});

/**
 * A list of conditions keyed by type (one condition per type), which is what
 * server-side apply needs to merge them.
 */
export function Conditions() {
  return Type.Array(Condition, {
    description: 'Whether the object is valid and working, and why not.',
    'x-kubernetes-list-type': 'map',
    'x-kubernetes-list-map-keys': ['type'],
  });
}

/**
 * status.connections of the objects that translate (EgressGateway, Egress), written by
 * their active node (host/agent/kube-connections.ts).
 */
export function ConnectionCount() {
  return Type.Integer({
    format: 'int64',
    minimum: 0,
    description:
      'Connections leaving through egressIP now, as the active node counts them: the SNAT ' +
      'ports in use on that address for its busiest protocol, one per pod address and port ' +
      'however many destinations it talks to. Written at most every 15 s, when it changed; ' +
      '0 while no node is active.',
  });
}

/**
 * The parts of metav1.ObjectMeta that egressgw reads; the rest passes through. Only ajv
 * sees this schema (a CRD's metadata is `type: object`), so TypeBox's anyOf is fine here.
 */
export const ObjectMeta = Type.Object({
  name: Type.String({ minLength: 1 }),
  generation: Type.Optional(Type.Integer({ format: 'int64', minimum: 0 })),
  // null as `kubectl create --dry-run=client -o yaml` writes it, for objects in files.
  creationTimestamp: Type.Optional(Type.Union([Type.String({ format: 'date-time' }), Type.Null()])),
  resourceVersion: Type.Optional(Type.String()),
  uid: Type.Optional(Type.String()),
  labels: Type.Optional(StringMap()),
  annotations: Type.Optional(StringMap()),
});

/** The envelope every object has: the schema ajv checks whole objects against. */
export function ObjectEnvelope<Spec extends TSchema, Status extends TSchema>(
  apiVersions: readonly string[],
  kind: string,
  spec: Spec,
  status: Status,
) {
  return Type.Object({
    apiVersion: StringEnum(apiVersions),
    kind: StringEnum([kind]),
    metadata: ObjectMeta,
    spec,
    status: Type.Optional(status),
  });
}
