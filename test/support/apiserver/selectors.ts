/**
 * Label and field selectors in the apiserver's text syntax
 * (k8s.io/apimachinery/pkg/labels and pkg/fields).
 *
 * Labels: comma-separated requirements, each `k=v`, `k==v`, `k!=v`, `k in (a,b)`,
 * `k notin (a,b)`, `k` (exists), `!k` (does not exist), `k>n`, `k<n`. An empty selector
 * matches everything. Fields: `path=v`, `path==v`, `path!=v` over a per-kind set of
 * supported paths; a missing field compares as the empty string.
 */
import { badRequest } from './api-error.ts';

type LabelOp = 'eq' | 'neq' | 'in' | 'notin' | 'exists' | 'notexists' | 'gt' | 'lt';

interface LabelRequirement {
  key: string;
  op: LabelOp;
  values: string[];
}

export type Matcher = (obj: Record<string, unknown>) => boolean;

/** Splits at commas that are not inside parentheses. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((p) => p.trim()).filter((p) => p.length > 0);
}

const LABEL_KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

function checkKey(key: string, whole: string): string {
  if (!LABEL_KEY.test(key))
    throw badRequest(`unable to parse requirement: invalid label key "${key}" in "${whole}"`);
  return key;
}

function checkValue(value: string, whole: string): string {
  if (!LABEL_VALUE.test(value) || value.length > 63) {
    throw badRequest(`unable to parse requirement: invalid label value "${value}" in "${whole}"`);
  }
  return value;
}

function parseRequirement(text: string): LabelRequirement {
  const set = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(text);
  if (set) {
    const key = checkKey(set[1]!, text);
    const values = set[3]!
      .split(',')
      .map((v) => v.trim())
      .map((v) => checkValue(v, text));
    return { key, op: set[2] === 'in' ? 'in' : 'notin', values };
  }
  const binary = /^([^=!<>\s]+)\s*(==|=|!=|>|<)\s*(.*)$/.exec(text);
  if (binary) {
    const key = checkKey(binary[1]!, text);
    const raw = binary[3]!.trim();
    const op = binary[2]!;
    if (op === '>' || op === '<') {
      if (!/^-?\d+$/.test(raw))
        throw badRequest(`unable to parse requirement: "${raw}" is not an integer in "${text}"`);
      return { key, op: op === '>' ? 'gt' : 'lt', values: [raw] };
    }
    return { key, op: op === '!=' ? 'neq' : 'eq', values: [checkValue(raw, text)] };
  }
  if (text.startsWith('!'))
    return { key: checkKey(text.slice(1).trim(), text), op: 'notexists', values: [] };
  return { key: checkKey(text, text), op: 'exists', values: [] };
}

function labelsOf(obj: Record<string, unknown>): Record<string, string> {
  const meta = obj['metadata'] as Record<string, unknown> | undefined;
  return (meta?.['labels'] as Record<string, string> | undefined) ?? {};
}

function matchesRequirement(labels: Record<string, string>, r: LabelRequirement): boolean {
  const has = Object.hasOwn(labels, r.key);
  const value = labels[r.key];
  switch (r.op) {
    case 'eq':
      return has && value === r.values[0];
    case 'neq':
      return !has || value !== r.values[0];
    case 'in':
      return has && r.values.includes(value!);
    case 'notin':
      return !has || !r.values.includes(value!);
    case 'exists':
      return has;
    case 'notexists':
      return !has;
    case 'gt':
    case 'lt': {
      if (!has || !/^-?\d+$/.test(value!)) return false;
      const n = Number(value);
      const bound = Number(r.values[0]);
      return r.op === 'gt' ? n > bound : n < bound;
    }
  }
}

/** Parses a labelSelector query value; throws ApiError(400) on bad syntax. */
export function parseLabelSelector(text: string | null): Matcher {
  if (text === null || text.trim() === '') return () => true;
  const reqs = splitTopLevel(text).map(parseRequirement);
  return (obj) => {
    const labels = labelsOf(obj);
    return reqs.every((r) => matchesRequirement(labels, r));
  };
}

/** Reads a dotted field path; objects and missing fields read as ''. */
export function fieldValue(obj: Record<string, unknown>, path: string): string {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return '';
    cur = (cur as Record<string, unknown>)[part];
  }
  if (cur === undefined || cur === null) return '';
  if (typeof cur === 'object') return '';
  return String(cur);
}

/**
 * Parses a fieldSelector query value. `supported` lists the paths besides
 * metadata.name and metadata.namespace; others get the apiserver's 400.
 */
export function parseFieldSelector(text: string | null, supported: readonly string[]): Matcher {
  if (text === null || text.trim() === '') return () => true;
  const terms = text
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t.length > 0)
    .map((term) => {
      const m = /^([^=!]+?)\s*(==|=|!=)\s*(.*)$/.exec(term);
      if (!m) throw badRequest(`invalid selector: '${text}'; can't understand '${term}'`);
      const path = m[1]!.trim();
      if (path !== 'metadata.name' && path !== 'metadata.namespace' && !supported.includes(path)) {
        throw badRequest(`field label not supported: ${path}`);
      }
      return { path, negate: m[2] === '!=', value: m[3]!.trim() };
    });
  return (obj) => terms.every((t) => (fieldValue(obj, t.path) === t.value) !== t.negate);
}
