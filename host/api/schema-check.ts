import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { CidrError, parseCidr, parseIPv4 } from '../model/cidr.ts';
import { error, type Issue } from './issue.ts';
import {
  type ResourceDefinition,
  type ResourceKind,
  resourceKinds,
  resources,
} from './resources.ts';

/**
 * Checks whole objects against the TypeBox schemas with ajv, and turns ajv's errors into
 * Issues a person can act on: one per problem, with the field path written the way
 * kubectl prints it (`spec.ipRanges[0].start`), not as a JSON pointer.
 *
 * The formats the schemas use are the ones the API server checks (ipv4, cidr,
 * date-time, int32, int64); ipv4 and cidr are checked with host/model/cidr.ts so that
 * the file loader and the cluster agree on what an address is. IPv6 is refused here
 * although the server's formats accept it: egressgw is IPv4-only for now.
 */

function passes(check: (text: string) => unknown): (text: string) => boolean {
  return (text) => {
    try {
      check(text);
      return true;
    } catch {
      return false;
    }
  };
}

// RFC 3339 date-time as Kubernetes writes it (metav1.Time): 2026-11-22T04:12:31Z.
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/i;

function createAjv(): Ajv {
  // strictRequired is off: the oneOf branches of an IP range name properties declared
  // beside them, not inside them, which is exactly what Kubernetes asks of junctors.
  const ajv = new Ajv({ allErrors: true, verbose: true, strict: true, strictRequired: false });
  ajv.addFormat('ipv4', { type: 'string', validate: passes(parseIPv4) });
  ajv.addFormat('cidr', { type: 'string', validate: passes(parseCidr) });
  ajv.addFormat('date-time', {
    type: 'string',
    validate: (text) => DATE_TIME.test(text) && !Number.isNaN(Date.parse(text)),
  });
  ajv.addFormat('int32', { type: 'number', validate: (n) => Math.abs(n) < 2 ** 31 });
  ajv.addFormat('int64', { type: 'number', validate: Number.isSafeInteger });
  // Kubernetes' own keywords only annotate; ajv must know them to stay strict.
  for (const keyword of ['x-kubernetes-list-type', 'x-kubernetes-list-map-keys']) {
    ajv.addKeyword({ keyword, schemaType: ['string', 'array'] });
  }
  return ajv;
}

const ajv = createAjv();
const objectValidators = new Map<ResourceKind, ValidateFunction>(
  resourceKinds.map((kind) => [kind, ajv.compile(resources[kind].object)]),
);
const statusValidators = new Map<ResourceKind, ValidateFunction>(
  resourceKinds.map((kind) => [kind, ajv.compile(resources[kind].status)]),
);

/** A JSON pointer (`/spec/ipRanges/0/start`) as a field path (`spec.ipRanges[0].start`). */
export function fieldPath(pointer: string): string {
  let path = '';
  for (const raw of pointer.split('/').slice(1)) {
    const segment = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (/^\d+$/.test(segment)) path += `[${segment}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(segment))
      path += path === '' ? segment : `.${segment}`;
    else path += `[${JSON.stringify(segment)}]`;
  }
  return path;
}

function at(path: string, message: string): string {
  return path === '' ? message : `${path}: ${message}`;
}

function describeValue(value: unknown): string {
  return value === undefined ? 'nothing' : JSON.stringify(value);
}

function toIssue(e: ErrorObject): Issue {
  const path = fieldPath(e.instancePath);
  switch (e.keyword) {
    case 'format': {
      const format = (e.params as { format: string }).format;
      if (format === 'ipv4' || format === 'cidr') {
        try {
          (format === 'ipv4' ? parseIPv4 : parseCidr)(e.data as string);
        } catch (cause) {
          if (cause instanceof CidrError) {
            return error(format === 'ipv4' ? 'InvalidIP' : 'InvalidCIDR', at(path, cause.message));
          }
        }
      }
      return error(
        'SchemaViolation',
        at(path, `${describeValue(e.data)} is not a valid ${format}`),
      );
    }
    case 'required': {
      const missing = (e.params as { missingProperty: string }).missingProperty;
      const parent = path === '' ? missing : `${path}.${missing}`;
      return error('SchemaViolation', `${parent}: required field is missing`);
    }
    case 'additionalProperties': {
      const extra = (e.params as { additionalProperty: string }).additionalProperty;
      return error('SchemaViolation', at(path, `unknown field ${JSON.stringify(extra)}`));
    }
    case 'enum': {
      const allowed = (e.params as { allowedValues: unknown[] }).allowedValues;
      return error(
        'SchemaViolation',
        at(path, `${describeValue(e.data)} is not one of ${allowed.map(String).join(', ')}`),
      );
    }
    case 'type':
      return error(
        'SchemaViolation',
        at(path, `must be ${(e.params as { type: string }).type}, got ${describeValue(e.data)}`),
      );
    case 'minItems': {
      const limit = (e.params as { limit: number }).limit;
      return error(
        'SchemaViolation',
        at(path, `needs at least ${limit} item${limit === 1 ? '' : 's'}`),
      );
    }
    case 'oneOf': {
      const description = (e.parentSchema as { description?: string } | undefined)?.description;
      return error(
        'SchemaViolation',
        at(path, `give exactly one form${description ? `: ${description}` : ''}`),
      );
    }
    default:
      return error('SchemaViolation', at(path, e.message ?? `fails ${e.keyword}`));
  }
}

/**
 * ajv with allErrors also reports why each branch of a failed oneOf failed; those are
 * noise next to the oneOf's own message, so errors under another error's schema path are
 * dropped.
 */
function withoutBranchNoise(errors: readonly ErrorObject[]): ErrorObject[] {
  const junctions = errors.filter((e) => e.keyword === 'oneOf' || e.keyword === 'anyOf');
  return errors.filter(
    (e) => !junctions.some((j) => j !== e && e.schemaPath.startsWith(`${j.schemaPath}/`)),
  );
}

function run(validate: ValidateFunction, value: unknown, prefix: string): Issue[] {
  if (validate(value)) return [];
  const seen = new Set<string>();
  const issues: Issue[] = [];
  for (const e of withoutBranchNoise(validate.errors ?? [])) {
    const issue = toIssue({ ...e, instancePath: prefix + e.instancePath });
    if (!seen.has(issue.message)) {
      seen.add(issue.message);
      issues.push(issue);
    }
  }
  return issues;
}

/** The schema problems of `object` as a `definition` kind; empty when it fits. */
export function schemaIssues(definition: ResourceDefinition, object: unknown): Issue[] {
  return run(objectValidators.get(definition.kind)!, object, '');
}

/** The schema problems of an object's `status` alone, with paths under `status`. */
export function statusSchemaIssues(definition: ResourceDefinition, status: unknown): Issue[] {
  return run(statusValidators.get(definition.kind)!, status, '/status');
}
