import { stringify } from 'yaml';
import { type Values, wholeValuePaths } from './values.ts';

/**
 * Turns the workload description into Helm templates without writing it twice.
 *
 * `markerValues()` gives a Values object whose every setting is a placeholder string
 * (`\uE000Values.agent.logLevel\uE000`). Passed through the same functions that build the
 * plain manifests, the placeholders land exactly where each value is used. `toTemplate()`
 * then swaps each string holding placeholders for a token, serialises the object to YAML,
 * and replaces each token with the Go template that reads the value:
 *   whole string value        → {{ .Values.x | quote }}
 *   whole number value        → {{ .Values.x | int }}  (Helm reads numbers as float64;
 *                               `int` keeps 1048576 from printing as 1.048576e+06)
 *   whole boolean value       → {{ .Values.x }}  (Go prints true / false)
 *   whole map or list value   → `key:` then {{- toYaml .Values.x | nindent N }}
 *   text around placeholders  → one double-quoted scalar, "--port={{ .Values.x | int }}"
 * Strings that are embedded in text are printed unescaped, so values.schema.json
 * (chart.ts) forbids quotes and backslashes in them.
 *
 * A value the builder computed with (added to, sliced) would lose its placeholder; the
 * chart test catches that because the rendered chart would differ from the manifests.
 * A builder must never branch on a value either (a placeholder is always truthy): what a
 * value switches on or off is a hand-written `{{ if }}` around a template (chart.ts).
 */
// A private-use character: never in real values, and not a control character.
const mark = '\uE000';
const markerPattern = /\uE000([A-Za-z0-9_.]+)\uE000/g;

export type ValueKind = 'string' | 'number' | 'boolean' | 'whole';

/** The Values shape with every setting replaced by its placeholder, and each setting's kind. */
export function markerValues(defaults: Values): { values: Values; kinds: Map<string, ValueKind> } {
  const kinds = new Map<string, ValueKind>();
  const walk = (value: unknown, path: string): unknown => {
    if (path !== '' && wholeValuePaths.includes(path)) {
      kinds.set(path, 'whole');
      return marker(`Values.${path}`);
    }
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      return Object.fromEntries(
        Object.entries(value).map(([k, v]) => [k, walk(v, path === '' ? k : `${path}.${k}`)]),
      );
    }
    if (typeof value === 'string') kinds.set(path, 'string');
    else if (typeof value === 'number' && Number.isInteger(value)) kinds.set(path, 'number');
    else if (typeof value === 'boolean') kinds.set(path, 'boolean');
    else throw new Error(`value ${path} has a type the templates cannot carry: ${typeof value}`);
    return marker(`Values.${path}`);
  };
  return { values: walk(defaults, '') as Values, kinds };
}

/** The placeholder of a template field such as `Release.Namespace`. */
export function marker(field: string): string {
  return `${mark}${field}${mark}`;
}

/** Kinds of the non-Values fields a builder may be given. */
const builtinKinds: ReadonlyMap<string, ValueKind> = new Map([['Release.Namespace', 'string']]);

/** YAML text of `object`, with its placeholders turned into Go template actions. */
export function toTemplate(object: unknown, kinds: ReadonlyMap<string, ValueKind>): string {
  const kindOf = (field: string): ValueKind => {
    const kind = field.startsWith('Values.')
      ? kinds.get(field.slice('Values.'.length))
      : builtinKinds.get(field);
    if (kind === undefined) throw new Error(`placeholder for unknown field ${field}`);
    return kind;
  };
  const scalars: string[] = [];
  const blocks: string[] = [];
  const swap = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(swap);
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(
        Object.entries(value).map(([k, v]) => {
          if (k.includes(mark)) throw new Error(`placeholder in a key: ${JSON.stringify(k)}`);
          return [k, swap(v)];
        }),
      );
    }
    if (typeof value !== 'string' || !value.includes(mark)) return value;
    const whole = /^\uE000([A-Za-z0-9_.]+)\uE000$/.exec(value);
    if (whole !== null) {
      const field = whole[1]!;
      const kind = kindOf(field);
      if (kind === 'whole') {
        blocks.push(field);
        return `EGWBLOCK${blocks.length - 1}`;
      }
      scalars.push(
        kind === 'boolean'
          ? `{{ .${field} }}`
          : `{{ .${field} | ${kind === 'number' ? 'int' : 'quote'} }}`,
      );
      return `EGWSCALAR${scalars.length - 1}`;
    }
    let text = '';
    let last = 0;
    for (const m of value.matchAll(markerPattern)) {
      const field = m[1]!;
      const kind = kindOf(field);
      if (kind === 'whole') throw new Error(`map or list value ${field} used inside text`);
      text += escapeDoubleQuoted(value.slice(last, m.index));
      text += kind === 'number' ? `{{ .${field} | int }}` : `{{ .${field} }}`;
      last = m.index + m[0].length;
    }
    text += escapeDoubleQuoted(value.slice(last));
    if (text.includes(mark)) throw new Error(`malformed placeholder in ${JSON.stringify(value)}`);
    scalars.push(`"${text}"`);
    return `EGWSCALAR${scalars.length - 1}`;
  };
  const yaml = stringify(swap(object), { lineWidth: 0 });
  return yaml
    .split('\n')
    .map((line) => {
      const block = /^( *)([^ ].*): EGWBLOCK(\d+)$/.exec(line);
      if (block !== null) {
        const indent = block[1]!.length + (block[2]!.startsWith('- ') ? 4 : 2);
        const field = blocks[Number(block[3])]!;
        return `${block[1]}${block[2]}:\n${' '.repeat(indent)}{{- toYaml .${field} | nindent ${indent} }}`;
      }
      if (line.includes('EGWBLOCK')) throw new Error(`map or list value in a list: ${line}`);
      return line.replace(/EGWSCALAR(\d+)/g, (_, i: string) => scalars[Number(i)]!);
    })
    .join('\n');
}

/** The body of a YAML double-quoted scalar holding `text` literally. */
function escapeDoubleQuoted(text: string): string {
  return JSON.stringify(text).slice(1, -1);
}
