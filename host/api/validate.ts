import type { Egress, ExternalIPPool } from './antrea.ts';
import type { EgressGateway, EgressGatewayPolicy } from './deckhouse.ts';
import { hasErrors, type Issue, warning } from './issue.ts';
import { type ResourceKind, resourceFor } from './resources.ts';
import { schemaIssues, statusSchemaIssues } from './schema-check.ts';
import { semanticIssues } from './semantic.ts';

/**
 * The one entry point for checking an object, whether it came from an informer or a
 * YAML file: schema first (ajv), then the semantic checks of the object alone. An object
 * with any error-severity issue is not used; warnings travel with a usable object.
 *
 * The status is checked apart from the rest: it is egressgw's own record (the allocated
 * IP), never the user's intent, so a status that does not fit is dropped with a warning
 * instead of making the object unusable.
 */

export type TypedObject =
  | { kind: 'EgressGateway'; object: EgressGateway }
  | { kind: 'EgressGatewayPolicy'; object: EgressGatewayPolicy }
  | { kind: 'Egress'; object: Egress }
  | { kind: 'ExternalIPPool'; object: ExternalIPPool };

export interface ValidationResult {
  kind: ResourceKind;
  /** metadata.name when it is a string, so that even a broken object gets a status. */
  name: string | null;
  /** The typed object, or null when an issue is an error. */
  typed: TypedObject | null;
  issues: Issue[];
}

function nameOf(raw: unknown): string | null {
  const metadata = (raw as { metadata?: { name?: unknown } } | null)?.metadata;
  return typeof metadata?.name === 'string' && metadata.name !== '' ? metadata.name : null;
}

/** Checks `raw`; null when it is not one of the four kinds egressgw reads. */
export function validateObject(raw: unknown): ValidationResult | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const { apiVersion, kind } = raw as { apiVersion?: unknown; kind?: unknown };
  const definition = resourceFor(apiVersion, kind);
  if (definition === null) return null;
  const name = nameOf(raw);
  const { status, ...object } = raw as { status?: unknown };
  const schema = schemaIssues(definition, object);
  if (schema.length > 0) return { kind: definition.kind, name, typed: null, issues: schema };
  const issues = semanticIssues(definition.kind, object);
  if (status !== undefined) {
    const statusIssues = statusSchemaIssues(definition, status);
    if (statusIssues.length === 0) Object.assign(object, { status });
    for (const issue of statusIssues) {
      issues.push(warning(issue.reason, `${issue.message} (the status is ignored)`));
    }
  }
  const typed = hasErrors(issues) ? null : ({ kind: definition.kind, object } as TypedObject);
  return { kind: definition.kind, name, typed, issues };
}
