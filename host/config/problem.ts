import type { IssueReason, IssueSeverity } from '../api/issue.ts';

/**
 * A problem of a configuration file, where it is written: what `egressgw validate`
 * prints and the file source reports. Issues of objects (host/api/issue.ts) keep their
 * reason; the file adds reasons of its own for text that is not objects at all.
 */

export type ProblemReason =
  | IssueReason
  /** The YAML text does not parse; the document's objects are not read. */
  | 'YAMLSyntax'
  /** The YAML parses but something is suspicious (an unknown tag...). */
  | 'YAMLWarning'
  /** A document or list item that is not a mapping. */
  | 'NotAnObject'
  /** An object of a kind egressgw does not read; it is skipped. */
  | 'IgnoredKind';

export interface ConfigProblem {
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based, in characters (UTF-16 code units, as the yaml package counts). */
  column: number;
  /** The object the problem is in; null for a problem of the text itself. */
  object: { kind: string; name: string | null } | null;
  /**
   * The field the problem is about, as kubectl writes it; '' for the whole object. The
   * position is that field's, or its nearest written parent's when it is missing.
   */
  field: string;
  severity: IssueSeverity;
  reason: ProblemReason;
  message: string;
}

/** Text and problems first by position: the order a reader of the file meets them. */
export function compareProblems(a: ConfigProblem, b: ConfigProblem): number {
  return a.line - b.line || a.column - b.column;
}

/**
 * `FILE:LINE:COLUMN: Kind/name message`, with `warning: ` before the object for a warning:
 * the shape compilers print, which editors and CI annotators turn into links.
 */
export function formatProblem(problem: ConfigProblem): string {
  const where = `${problem.file}:${problem.line}:${problem.column}:`;
  const severity = problem.severity === 'warning' ? ' warning:' : '';
  const object =
    problem.object === null ? '' : ` ${problem.object.kind}/${problem.object.name ?? '(no name)'}`;
  return `${where}${severity}${object} ${problem.message}`;
}
