import type { Issue } from '../api/issue.ts';
import type { FieldPath } from './yaml-stream.ts';

/**
 * The field an Issue is about, as a path to look up in the YAML tree.
 *
 * host/api/issue.ts has no path field: its messages start with the field path written
 * the way kubectl prints it (`spec.ipRanges[0].start: ...`, see fieldPath() in
 * schema-check.ts), so the path is read back from there. The first segment must be a
 * top-level field of the object, so that a message without a path ("another Egress
 * named x comes first") is not mistaken for one. A wrong guess costs only precision:
 * the locator falls back to the nearest field that exists, at worst the object itself.
 */

const IDENTIFIER = '[A-Za-z_][A-Za-z0-9_]*';
// A JSON string in brackets, as fieldPath() writes keys like `app.kubernetes.io/name`.
const QUOTED = '\\[("(?:[^"\\\\]|\\\\.)*")\\]';
const FIRST_SEGMENT = new RegExp(`^(?:(${IDENTIFIER})|${QUOTED})`);
const NEXT_SEGMENT = new RegExp(`^(?:\\.(${IDENTIFIER})|\\[(\\d+)\\]|${QUOTED})`);
// schema-check.ts names the extra key of an additionalProperties error this way; the key
// itself is the exact node to show.
const UNKNOWN_FIELD = /^: unknown field ("(?:[^"\\]|\\.)*")/;

const ENVELOPE_FIELDS: ReadonlySet<string> = new Set([
  'apiVersion',
  'kind',
  'metadata',
  'spec',
  'status',
]);

/** A quoted segment's text; null when it is not a JSON string after all (`"\\q"`). */
function unquote(quoted: string): string | null {
  try {
    return JSON.parse(quoted) as string;
  } catch {
    return null;
  }
}

/** The path at the start of `message`, and the text after it; null when there is none. */
export function leadingFieldPath(
  message: string,
  topLevelFields: ReadonlySet<string>,
): { path: (string | number)[]; rest: string } | null {
  const first = FIRST_SEGMENT.exec(message);
  if (first === null) return null;
  const head = first[1] ?? unquote(first[2]!);
  if (head === null || (!ENVELOPE_FIELDS.has(head) && !topLevelFields.has(head))) return null;
  const path: (string | number)[] = [head];
  let rest = message.slice(first[0].length);
  for (let next = NEXT_SEGMENT.exec(rest); next !== null; next = NEXT_SEGMENT.exec(rest)) {
    if (next[1] !== undefined) path.push(next[1]);
    else if (next[2] !== undefined) path.push(Number(next[2]));
    else {
      const key = unquote(next[3]!);
      if (key === null) break;
      path.push(key);
    }
    rest = rest.slice(next[0].length);
  }
  // A path ends the message or is followed by ": reason" or " (detail)".
  if (rest !== '' && !rest.startsWith(':') && !rest.startsWith(' ')) return null;
  return { path, rest };
}

export interface IssueField {
  /** [] for the object itself. */
  path: FieldPath;
  /** Show the key rather than the value: the field itself is the mistake. */
  on: 'key' | 'value';
}

/** The field `issue` is about, in an object with `topLevelFields`. */
export function issueField(issue: Issue, topLevelFields: ReadonlySet<string>): IssueField {
  const found = leadingFieldPath(issue.message, topLevelFields);
  if (found === null) {
    // A duplicate is about the name it repeats.
    return { path: issue.reason === 'DuplicateName' ? ['metadata', 'name'] : [], on: 'value' };
  }
  const unknown = UNKNOWN_FIELD.exec(found.rest);
  const key = unknown === null ? null : unquote(unknown[1]!);
  if (key !== null) return { path: [...found.path, key], on: 'key' };
  return { path: found.path, on: 'value' };
}
