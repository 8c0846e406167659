import type { TSchema } from '@sinclair/typebox';

/**
 * TypeBox schema -> the OpenAPI v3 schema of a CRD, and the check that it is structural.
 *
 * Kubernetes (apiextensions.k8s.io/v1, "Specifying a structural schema") requires:
 *  1. a non-empty `type` on every node outside `allOf`/`anyOf`/`oneOf`/`not`
 *     (unless x-kubernetes-int-or-string or x-kubernetes-preserve-unknown-fields);
 *  2. inside those junctors no `type`, `description`, `default`, `additionalProperties`,
 *     `nullable` (we also keep `properties` and `items` out, which is stricter);
 *  3. no `$ref`; `additionalProperties` and `properties` never together, and
 *     `additionalProperties: false` is refused outright (the server prunes instead).
 * `toOpenApi` only copies keywords it knows the API server accepts and throws on the rest,
 * so a TypeBox construct that would break the CRD (`const`, `patternProperties`) fails the
 * generator instead of `kubectl apply`.
 */

export type OpenApiSchema = { [keyword: string]: unknown };

export class OpenApiError extends Error {
  readonly code = 'EGW_OPENAPI';
  constructor(path: string, message: string) {
    super(`${path || '<root>'}: ${message}`);
    this.name = 'OpenApiError';
  }
}

// Keywords copied as they are: annotations and value validations JSONSchemaProps has.
const PLAIN_KEYWORDS = new Set([
  'type',
  'format',
  'description',
  'enum',
  'required',
  'minimum',
  'maximum',
  'minLength',
  'maxLength',
  'minItems',
  'maxItems',
  'pattern',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-int-or-string',
]);
const JUNCTORS = ['allOf', 'anyOf', 'oneOf'] as const;
const FORBIDDEN_IN_JUNCTORS = [
  'type',
  'description',
  'default',
  'additionalProperties',
  'nullable',
  'properties',
  'items',
];

// Written first, so that the generated YAML reads "type, format, description, ..."
// whatever order the TypeBox options were given in.
const LEADING_KEYWORDS = ['type', 'format', 'description'];
const leadingRank = (keyword: string): number => {
  const rank = LEADING_KEYWORDS.indexOf(keyword);
  return rank < 0 ? LEADING_KEYWORDS.length : rank;
};

/** A plain-JSON copy of `schema` with TypeBox's symbols and ajv-only keywords removed. */
export function toOpenApi(schema: TSchema | OpenApiSchema, path = ''): OpenApiSchema {
  const out: OpenApiSchema = {};
  const keywords = Object.entries(schema).sort(([a], [b]) => leadingRank(a) - leadingRank(b));
  for (const [keyword, value] of keywords) {
    if (PLAIN_KEYWORDS.has(keyword)) {
      out[keyword] = structuredClone(value);
    } else if (keyword === 'properties') {
      const properties: Record<string, OpenApiSchema> = {};
      for (const [name, child] of Object.entries(value as Record<string, OpenApiSchema>)) {
        properties[name] = toOpenApi(child, `${path}.${name}`);
      }
      out.properties = properties;
    } else if (keyword === 'items') {
      out.items = toOpenApi(value as OpenApiSchema, `${path}[]`);
    } else if (keyword === 'additionalProperties') {
      // `false` is ajv's strictness only; a schema value describes a map.
      if (value !== false)
        out.additionalProperties = toOpenApi(value as OpenApiSchema, `${path}{}`);
    } else if ((JUNCTORS as readonly string[]).includes(keyword)) {
      out[keyword] = (value as OpenApiSchema[]).map((branch, i) =>
        toOpenApi(branch, `${path}.${keyword}[${i}]`),
      );
    } else if (keyword === 'not') {
      out.not = toOpenApi(value as OpenApiSchema, `${path}.not`);
    } else {
      throw new OpenApiError(path, `keyword ${keyword} has no place in a CRD schema`);
    }
  }
  return out;
}

/** Throws OpenApiError at the first place where `schema` is not structural. */
export function assertStructural(schema: OpenApiSchema, path = '', inJunctor = false): void {
  if ('$ref' in schema) throw new OpenApiError(path, '$ref is not allowed');
  if (inJunctor) {
    for (const keyword of FORBIDDEN_IN_JUNCTORS) {
      if (keyword in schema) {
        throw new OpenApiError(path, `${keyword} is not allowed inside allOf/anyOf/oneOf/not`);
      }
    }
  } else {
    const typeless =
      schema['x-kubernetes-int-or-string'] === true ||
      schema['x-kubernetes-preserve-unknown-fields'] === true;
    if (typeof schema.type !== 'string' && !typeless) {
      throw new OpenApiError(path, 'every node needs a type');
    }
  }
  if ('properties' in schema && 'additionalProperties' in schema) {
    throw new OpenApiError(path, 'properties and additionalProperties are mutually exclusive');
  }
  if (schema.additionalProperties === false) {
    throw new OpenApiError(path, 'additionalProperties: false is not allowed');
  }
  const properties = (schema.properties ?? {}) as Record<string, OpenApiSchema>;
  for (const [name, child] of Object.entries(properties)) {
    assertStructural(child, `${path}.${name}`, false);
  }
  if (typeof schema.items === 'object' && schema.items !== null) {
    const items = schema.items as OpenApiSchema;
    assertStructural(items, `${path}[]`, false);
    const mapKeys = schema['x-kubernetes-list-map-keys'];
    if (Array.isArray(mapKeys)) {
      const required = (items.required ?? []) as string[];
      for (const key of mapKeys as string[]) {
        if (!required.includes(key)) {
          throw new OpenApiError(path, `list map key ${key} must be required in the items`);
        }
      }
    }
  }
  if (typeof schema.additionalProperties === 'object' && schema.additionalProperties !== null) {
    assertStructural(schema.additionalProperties as OpenApiSchema, `${path}{}`, false);
  }
  for (const junctor of JUNCTORS) {
    const branches = schema[junctor];
    if (Array.isArray(branches)) {
      branches.forEach((branch: OpenApiSchema, i) => {
        assertStructural(branch, `${path}.${junctor}[${i}]`, true);
      });
    }
  }
  if (typeof schema.not === 'object' && schema.not !== null) {
    assertStructural(schema.not as OpenApiSchema, `${path}.not`, true);
  }
}
