import { randomInt } from 'node:crypto';
import { stringify } from 'yaml';

/**
 * A renderer for the subset of Go templates (text/template plus Helm's functions) that the
 * generated chart uses, so tests can render it without the helm binary:
 *   {{ .Values.a.b }}  {{ .Release.Namespace }}      fields of the context
 *   {{ $x := pipeline }}  {{ $x }}  {{ $x.a.b }}      variables (one scope per template)
 *   {{ if pipeline }} … {{ else }} … {{ end }}        Go's truth: false, 0, nil, "" and
 *                                                    empty maps and lists are false
 *   {{- ... -}}                                      trim whitespace before / after
 *   ( pipeline )                                     a parenthesised argument
 *   x | quote   x | int   x | toYaml   x | nindent N   x | indent N   x | b64enc
 *   randAlphaNum N   dig "k1" "k2" default map   lookup "v1" "Kind" namespace name
 * Anything else (range, define, other functions) is an error, as is a field that the
 * context lacks: Helm would print "<no value>" and render a broken manifest.
 * `lookup` asks the context's `lookup`; like `helm template`, without one it finds
 * nothing (an empty map).
 */
export interface TemplateContext {
  Values: unknown;
  Release: { Name: string; Namespace: string };
  /** The cluster that `lookup` reads; absent: every lookup finds nothing. */
  lookup?: (
    apiVersion: string,
    kind: string,
    namespace: string,
    name: string,
  ) => Record<string, unknown> | null;
}

export class TemplateError extends Error {
  readonly code = 'EGW_TEMPLATE';
}

const actionPattern = /\{\{(-\s)?\s*(.*?)\s*(\s-)?\}\}/gs;

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'print'; pipeline: string }
  | { kind: 'assign'; name: string; pipeline: string }
  | { kind: 'if'; condition: string; whenTrue: Node[]; otherwise: Node[] };

/** Text and actions in order, with the whitespace that `{{-` and `-}}` trim removed. */
function lex(text: string): Array<{ text: string } | { action: string }> {
  const items: Array<{ text: string } | { action: string }> = [];
  let last = 0;
  let trimNext = false;
  for (const match of text.matchAll(actionPattern)) {
    let before = text.slice(last, match.index);
    if (trimNext) before = before.trimStart();
    if (match[1] !== undefined) before = before.trimEnd();
    items.push({ text: before }, { action: match[2]! });
    trimNext = match[3] !== undefined;
    last = match.index + match[0].length;
  }
  let rest = text.slice(last);
  if (trimNext) rest = rest.trimStart();
  if (rest.includes('{{')) throw new TemplateError(`unterminated action near ${rest.slice(0, 40)}`);
  items.push({ text: rest });
  return items;
}

function parse(text: string): Node[] {
  const items = lex(text);
  let at = 0;
  // Parses until `{{ else }}` or `{{ end }}` (returned) or the end of the text (null).
  const block = (): { nodes: Node[]; closedBy: 'else' | 'end' | null } => {
    const nodes: Node[] = [];
    while (at < items.length) {
      const item = items[at++]!;
      if ('text' in item) {
        if (item.text !== '') nodes.push({ kind: 'text', text: item.text });
        continue;
      }
      const action = item.action;
      if (action === 'end' || action === 'else') return { nodes, closedBy: action };
      const keyword = /^(range|with|define|template|block|break|continue)\b/.exec(action);
      if (keyword !== null) throw new TemplateError(`unsupported action ${keyword[1]}`);
      const condition = /^if\s+(.+)$/s.exec(action);
      if (condition !== null) {
        const then = block();
        let otherwise: Node[] = [];
        if (then.closedBy === 'else') {
          const rest = block();
          if (rest.closedBy !== 'end') throw new TemplateError(`{{ if }} without {{ end }}`);
          otherwise = rest.nodes;
        } else if (then.closedBy !== 'end') {
          throw new TemplateError(`{{ if }} without {{ end }}`);
        }
        nodes.push({ kind: 'if', condition: condition[1]!, whenTrue: then.nodes, otherwise });
        continue;
      }
      const assign = /^\$([A-Za-z_]\w*)\s*:?=\s*(.+)$/s.exec(action);
      if (assign !== null) {
        nodes.push({ kind: 'assign', name: assign[1]!, pipeline: assign[2]! });
        continue;
      }
      nodes.push({ kind: 'print', pipeline: action });
    }
    return { nodes, closedBy: null };
  };
  const top = block();
  if (top.closedBy !== null) throw new TemplateError(`{{ ${top.closedBy} }} without {{ if }}`);
  return top.nodes;
}

interface Scope {
  context: TemplateContext;
  variables: Map<string, unknown>;
}

export function renderTemplate(text: string, context: TemplateContext): string {
  const scope: Scope = { context, variables: new Map() };
  const run = (nodes: Node[]): string => {
    let out = '';
    for (const node of nodes) {
      switch (node.kind) {
        case 'text':
          out += node.text;
          break;
        case 'print':
          out += print(evaluate(node.pipeline, scope));
          break;
        case 'assign':
          scope.variables.set(node.name, evaluate(node.pipeline, scope));
          break;
        case 'if':
          out += run(truthy(evaluate(node.condition, scope)) ? node.whenTrue : node.otherwise);
          break;
      }
    }
    return out;
  };
  return run(parse(text));
}

/** The field paths (`Values.a.b`) the actions of a template read. */
export function fieldReferences(text: string): string[] {
  const refs: string[] = [];
  for (const match of text.matchAll(actionPattern)) {
    // Quoted strings are data, not fields; a field starts an argument (after a space,
    // a parenthesis or the start), unlike `$x.a`, which is a variable's key.
    const unquoted = match[2]!.replace(/"(?:[^"\\]|\\.)*"/g, '""');
    for (const field of unquoted.matchAll(/(?:^|[\s(])\.([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)/g)) {
      refs.push(field[1]!);
    }
  }
  return refs;
}

function evaluate(pipeline: string, scope: Scope): unknown {
  const commands = splitPipeline(pipeline);
  let value: unknown;
  commands.forEach((command, i) => {
    const tokens = tokenize(command);
    if (tokens.length === 0) throw new TemplateError(`empty command in {{ ${pipeline} }}`);
    const [head, ...rest] = tokens as [string, ...string[]];
    if (i === 0 && rest.length === 0 && (!/^[A-Za-z]/.test(head) || /^(true|false)$/.test(head))) {
      value = argument(head, scope);
      return;
    }
    const args = rest.map((t) => argument(t, scope));
    if (i > 0) args.push(value);
    value = call(head, args, pipeline, scope.context);
  });
  return value;
}

/** Splits on `|` outside quotes and parentheses. */
function splitPipeline(pipeline: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  let depth = 0;
  for (let i = 0; i < pipeline.length; i++) {
    const c = pipeline[i]!;
    if (c === '"' && pipeline[i - 1] !== '\\') quoted = !quoted;
    if (!quoted && c === '(') depth++;
    if (!quoted && c === ')') depth--;
    if (c === '|' && !quoted && depth === 0) {
      parts.push(current.trim());
      current = '';
    } else {
      current += c;
    }
  }
  if (quoted || depth !== 0)
    throw new TemplateError(`unbalanced quote or parenthesis: ${pipeline}`);
  parts.push(current.trim());
  return parts;
}

/** Words, quoted strings and whole parenthesised groups. */
function tokenize(command: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  while (i < command.length) {
    const c = command[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    let end = i;
    if (c === '"') {
      end++;
      while (end < command.length && command[end] !== '"') end += command[end] === '\\' ? 2 : 1;
      end++;
    } else if (c === '(') {
      let depth = 0;
      let quoted = false;
      for (; end < command.length; end++) {
        const d = command[end]!;
        if (d === '"' && command[end - 1] !== '\\') quoted = !quoted;
        if (quoted) continue;
        if (d === '(') depth++;
        if (d === ')' && --depth === 0) break;
      }
      end++;
    } else {
      while (end < command.length && !/[\s()]/.test(command[end]!)) end++;
    }
    if (end > command.length) throw new TemplateError(`unterminated token in ${command}`);
    tokens.push(command.slice(i, end));
    i = end;
  }
  return tokens;
}

function argument(token: string, scope: Scope): unknown {
  if (token.startsWith('(')) return evaluate(token.slice(1, -1), scope);
  if (token.startsWith('.')) return path(scope.context, token.slice(1), token);
  if (token.startsWith('$')) {
    const [name, ...keys] = token.slice(1).split('.');
    if (!scope.variables.has(name!)) throw new TemplateError(`undefined variable $${name}`);
    const value = scope.variables.get(name!);
    return keys.length === 0 ? value : mapKeys(value, keys);
  }
  if (token.startsWith('"')) return JSON.parse(token) as string;
  if (/^-?\d+$/.test(token)) return Number(token);
  if (token === 'true' || token === 'false') return token === 'true';
  throw new TemplateError(`unsupported argument ${token}`);
}

/** A field of the context: missing is an error (Helm would print "<no value>"). */
function path(root: unknown, dotted: string, token: string): unknown {
  let value = root;
  for (const key of dotted.split('.')) {
    if (value === null || typeof value !== 'object' || !(key in value)) {
      throw new TemplateError(`field ${token} is not defined`);
    }
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** Keys of a map held in a variable: Go gives nil for a missing key of a map. */
function mapKeys(value: unknown, keys: string[]): unknown {
  let current = value;
  for (const key of keys) {
    if (current === null || current === undefined) return undefined;
    if (typeof current !== 'object') throw new TemplateError(`.${key} of a ${typeof current}`);
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

function truthy(value: unknown): boolean {
  if (value === null || value === undefined || value === false || value === 0 || value === '') {
    return false;
  }
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}

const alphanumerics = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function call(name: string, args: unknown[], pipeline: string, context: TemplateContext): unknown {
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
    case 'b64enc':
      arity(1);
      return Buffer.from(print(args[0]), 'utf8').toString('base64');
    case 'randAlphaNum': {
      arity(1);
      const length = args[0];
      if (typeof length !== 'number' || length < 0) {
        throw new TemplateError(`randAlphaNum of ${String(length)}`);
      }
      return Array.from({ length }, () => alphanumerics[randomInt(alphanumerics.length)]).join('');
    }
    case 'dig': {
      // Sprig: dig KEY... DEFAULT MAP, the default when any key is missing.
      if (args.length < 3) throw new TemplateError(`dig needs keys, a default and a map`);
      const map = args[args.length - 1];
      const fallback = args[args.length - 2];
      if (map === null || typeof map !== 'object' || Array.isArray(map)) {
        throw new TemplateError(`dig of a non-map: {{ ${pipeline} }}`);
      }
      let current: unknown = map;
      for (const key of args.slice(0, -2)) {
        if (typeof key !== 'string') throw new TemplateError(`dig key ${String(key)}`);
        if (current === null || typeof current !== 'object' || !(key in current)) return fallback;
        current = (current as Record<string, unknown>)[key];
      }
      return current;
    }
    case 'lookup': {
      arity(4);
      if (!args.every((a) => typeof a === 'string')) {
        throw new TemplateError(`lookup takes four strings: {{ ${pipeline} }}`);
      }
      const [apiVersion, kind, namespace, objectName] = args as [string, string, string, string];
      return context.lookup?.(apiVersion, kind, namespace, objectName) ?? {};
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
