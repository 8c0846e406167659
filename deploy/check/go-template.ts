import { stringify } from 'yaml';

/**
 * A renderer for the subset of Go templates (text/template plus Helm's functions) that the
 * generated chart uses, so tests can render it without the helm binary:
 *   {{ .Values.a.b }}  {{ .Release.Namespace }}      fields of the context
 *   {{- ... -}}                                      trim whitespace before / after
 *   x | quote   x | int   x | toYaml   x | nindent N   x | indent N
 * Anything else (if, range, define, other functions) is an error, as is a field that the
 * context lacks: Helm would print "<no value>" and render a broken manifest.
 */
export interface TemplateContext {
  Values: unknown;
  Release: { Name: string; Namespace: string };
}

export class TemplateError extends Error {
  readonly code = 'EGW_TEMPLATE';
}

const actionPattern = /\{\{(-\s)?\s*(.*?)\s*(\s-)?\}\}/gs;

export function renderTemplate(text: string, context: TemplateContext): string {
  let out = '';
  let last = 0;
  let trimNext = false;
  for (const match of text.matchAll(actionPattern)) {
    let before = text.slice(last, match.index);
    if (trimNext) before = before.trimStart();
    if (match[1] !== undefined) before = before.trimEnd();
    out += before;
    out += evaluate(match[2]!, context);
    trimNext = match[3] !== undefined;
    last = match.index + match[0].length;
  }
  let rest = text.slice(last);
  if (trimNext) rest = rest.trimStart();
  if (rest.includes('{{')) throw new TemplateError(`unterminated action near ${rest.slice(0, 40)}`);
  return out + rest;
}

/** The field paths (`Values.a.b`) an action list reads. */
export function fieldReferences(text: string): string[] {
  const refs: string[] = [];
  for (const match of text.matchAll(actionPattern)) {
    for (const token of tokenize(match[2]!)) {
      if (token.startsWith('.')) refs.push(token.slice(1));
    }
  }
  return refs;
}

function evaluate(pipeline: string, context: TemplateContext): string {
  const commands = splitPipeline(pipeline);
  let value: unknown;
  commands.forEach((command, i) => {
    const tokens = tokenize(command);
    if (tokens.length === 0) throw new TemplateError(`empty command in {{ ${pipeline} }}`);
    const [head, ...rest] = tokens as [string, ...string[]];
    if (i === 0 && head.startsWith('.') && rest.length === 0) {
      value = field(head, context);
      return;
    }
    const args = rest.map((t) => argument(t, context));
    if (i > 0) args.push(value);
    value = call(head, args, pipeline);
  });
  return print(value);
}

function splitPipeline(pipeline: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < pipeline.length; i++) {
    const c = pipeline[i]!;
    if (c === '"' && pipeline[i - 1] !== '\\') quoted = !quoted;
    if (c === '|' && !quoted) {
      parts.push(current.trim());
      current = '';
    } else {
      current += c;
    }
  }
  parts.push(current.trim());
  return parts;
}

function tokenize(command: string): string[] {
  return command.match(/"(?:[^"\\]|\\.)*"|\S+/g) ?? [];
}

function argument(token: string, context: TemplateContext): unknown {
  if (token.startsWith('.')) return field(token, context);
  if (token.startsWith('"')) return JSON.parse(token) as string;
  if (/^-?\d+$/.test(token)) return Number(token);
  throw new TemplateError(`unsupported argument ${token}`);
}

function field(path: string, context: TemplateContext): unknown {
  let value: unknown = context;
  for (const key of path.slice(1).split('.')) {
    if (value === null || typeof value !== 'object' || !(key in value)) {
      throw new TemplateError(`field ${path} is not defined`);
    }
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

function call(name: string, args: unknown[], pipeline: string): unknown {
  const arity = (n: number) => {
    if (args.length !== n) {
      throw new TemplateError(
        `${name} takes ${n} argument(s), got ${args.length}: {{ ${pipeline} }}`,
      );
    }
  };
  switch (name) {
    case 'quote':
      arity(1);
      return JSON.stringify(print(args[0]));
    case 'int': {
      arity(1);
      const n = Number(args[0]);
      if (!Number.isFinite(n)) throw new TemplateError(`int of ${String(args[0])}`);
      return Math.trunc(n);
    }
    case 'toYaml':
      arity(1);
      return stringify(args[0]).replace(/\n$/, '');
    case 'indent':
    case 'nindent': {
      arity(2);
      const [width, text] = args;
      if (typeof width !== 'number') throw new TemplateError(`${name} width must be a number`);
      const pad = ' '.repeat(width);
      const indented = print(text)
        .split('\n')
        .map((line) => pad + line)
        .join('\n');
      return name === 'nindent' ? `\n${indented}` : indented;
    }
    default:
      throw new TemplateError(`unsupported function or action ${name}: {{ ${pipeline} }}`);
  }
}

/** Go's default printing of a value in a template. */
function print(value: unknown): string {
  if (value === null || value === undefined) return '<no value>';
  if (typeof value === 'object') {
    throw new TemplateError('a map or list printed without toYaml');
  }
  return String(value);
}
