import { error, type Issue } from '../api/issue.ts';
import { resourceFor } from '../api/resources.ts';
import { fieldPath } from '../api/schema-check.ts';
import type { NamespaceInput, NodeInput, PodInput } from '../control/inputs.ts';
import { type CoreRead, coreKindOf, readCoreObject } from './core-objects.ts';
import { egressObjectIssues } from './egress-object-issues.ts';
import { issueField } from './issue-path.ts';
import { type ConfigProblem, compareProblems, type ProblemReason } from './problem.ts';
import {
  type FieldPath,
  parseYamlStream,
  type StreamObject,
  type StreamProblem,
} from './yaml-stream.ts';

/**
 * One configuration file's text -> what compile() reads, and every problem with its line
 * and column. The same function serves the agent's file source and `egressgw validate`,
 * so the two never disagree about a file.
 *
 * What happens to each object:
 *  - the four egress kinds go to `objects` as written, valid or not: compile() checks
 *    them itself (api/validate.ts) and gives an invalid one a Valid=False status and no
 *    traffic, exactly as for an object from the cluster;
 *  - v1 Node, Pod and Namespace are read into compile's inputs (core-objects.ts); one
 *    with an error, or a repeat of a name, is left out;
 *  - anything else is skipped with a warning.
 * The problems include the cross-object issues compile() finds (an unknown gateway or
 * pool, an address held twice), found against the nodes, pods and namespaces of the file.
 */

export interface ConfigLoad {
  /** EgressGateway, EgressGatewayPolicy, Egress, ExternalIPPool objects, in file order. */
  objects: Record<string, unknown>[];
  nodes: NodeInput[];
  pods: PodInput[];
  namespaces: NamespaceInput[];
  /** Every problem, in file order. */
  problems: ConfigProblem[];
  /** Documents that are not empty, and how many of them did not parse. */
  documents: number;
  brokenDocuments: number;
  /** Objects found in the documents that parsed (of any kind). */
  objectCount: number;
}

type Fields = Record<string, unknown>;

/** A JSON pointer from a path, so that schema-check's fieldPath() writes it. */
function fieldText(path: FieldPath): string {
  return fieldPath(
    path.map((s) => `/${String(s).replaceAll('~', '~0').replaceAll('/', '~1')}`).join(''),
  );
}

function streamProblem(file: string, problem: StreamProblem): ConfigProblem {
  const reason: ProblemReason =
    problem.code === 'NOT_AN_OBJECT'
      ? 'NotAnObject'
      : problem.severity === 'warning'
        ? 'YAMLWarning'
        : 'YAMLSyntax';
  return {
    file,
    line: problem.position.line,
    column: problem.position.column,
    object: null,
    field: '',
    severity: problem.severity,
    reason,
    message: reason === 'YAMLSyntax' ? `syntax error: ${problem.message}` : problem.message,
  };
}

/** Places an object's issue at the field its message names. */
function objectProblem(
  file: string,
  source: StreamObject,
  object: { kind: string; name: string | null },
  issue: Issue,
): ConfigProblem {
  const { path, on } = issueField(issue, new Set(Object.keys(source.value as Fields)));
  const { line, column } = source.locate(path, on);
  return {
    file,
    line,
    column,
    object,
    field: fieldText(path),
    severity: issue.severity,
    reason: issue.reason,
    message: issue.message,
  };
}

function nameOf(value: Fields): string | null {
  const name = (value.metadata as { name?: unknown } | null | undefined)?.name;
  return typeof name === 'string' && name !== '' ? name : null;
}

/** What a core object's name must be unique as: `Node n1`, `Pod default/web`. */
function coreKey(read: CoreRead): string | null {
  if (read.input === null) return null;
  const name = read.kind === 'Pod' ? `${read.input.namespace}/${read.input.name}` : read.input.name;
  return `${read.kind} named ${name}`;
}

function envelopeIssue(value: Fields): Issue | null {
  const missing = (['apiVersion', 'kind'] as const).filter(
    (field) => typeof value[field] !== 'string' || value[field] === '',
  );
  if (missing.length === 0) return null;
  return error(
    'SchemaViolation',
    `${missing[0]}: required field is missing (every object needs apiVersion and kind)`,
  );
}

export function loadConfig(text: string, file: string): ConfigLoad {
  const stream = parseYamlStream(text);
  const problems = stream.problems.map((p) => streamProblem(file, p));
  const load: ConfigLoad = {
    objects: [],
    nodes: [],
    pods: [],
    namespaces: [],
    problems,
    documents: stream.documents,
    brokenDocuments: stream.brokenDocuments,
    objectCount: stream.objects.length,
  };

  const egressSources: StreamObject[] = [];
  const coreNames = new Set<string>();
  for (const source of stream.objects) {
    const value = source.value as Fields;
    const kind = typeof value.kind === 'string' && value.kind !== '' ? value.kind : '(no kind)';
    const object = { kind, name: nameOf(value) };
    const envelope = envelopeIssue(value);
    if (envelope !== null) {
      problems.push(objectProblem(file, source, object, envelope));
      continue;
    }
    if (resourceFor(value.apiVersion, value.kind) !== null) {
      egressSources.push(source);
      load.objects.push(value);
      continue;
    }
    const coreKind = coreKindOf(value);
    if (coreKind === null) {
      problems.push({
        file,
        ...source.position,
        object,
        field: '',
        severity: 'warning',
        reason: 'IgnoredKind',
        message: `${String(value.apiVersion)} ${kind} is not read by egressgw; skipped`,
      });
      continue;
    }
    const read = readCoreObject(coreKind, value);
    const issues = [...read.issues];
    const key = coreKey(read);
    if (key !== null && coreNames.has(key)) {
      issues.push(error('DuplicateName', `another ${key} comes first; this one is ignored`));
    } else if (key !== null) {
      coreNames.add(key);
      if (read.kind === 'Node') load.nodes.push(read.input!);
      else if (read.kind === 'Pod') load.pods.push(read.input!);
      else load.namespaces.push(read.input!);
    }
    for (const issue of issues) problems.push(objectProblem(file, source, object, issue));
  }

  // A pod's namespace exists in any cluster; a file may leave it out, and Antrea's
  // namespaceSelector (kubernetes.io/metadata.name) must still find it.
  const declared = new Set(load.namespaces.map((ns) => ns.name));
  for (const pod of load.pods) {
    if (!declared.has(pod.namespace)) {
      declared.add(pod.namespace);
      load.namespaces.push({ name: pod.namespace, labels: {} });
    }
  }

  const issues = egressObjectIssues(load.objects, {
    nodes: load.nodes,
    pods: load.pods,
    namespaces: load.namespaces,
    // The issues do not depend on these: they only decide which node is active.
    clusterCIDRs: [],
    liveAgents: new Set(),
    chooseActive: () => null,
  });
  egressSources.forEach((source, index) => {
    const value = source.value as Fields;
    const object = { kind: String(value.kind), name: nameOf(value) };
    for (const issue of issues[index] ?? []) {
      problems.push(objectProblem(file, source, object, issue));
    }
  });

  problems.sort(compareProblems);
  return load;
}

/**
 * Errors of the YAML text itself (syntax, a document that is not an object): they hide
 * objects that cannot even be named, unlike an invalid object, which compile() reports.
 */
export function textErrors(problems: readonly ConfigProblem[]): ConfigProblem[] {
  return problems.filter((p) => p.object === null && p.severity === 'error');
}

/** Problems of error severity. */
export function errorCount(problems: readonly ConfigProblem[]): number {
  return problems.filter((p) => p.severity === 'error').length;
}
