/**
 * The three classic patch formats. Each takes the current object and returns a new one;
 * the input is never modified.
 *
 * - JSON merge patch, RFC 7386: maps merge recursively, `null` deletes, everything else
 *   (lists included) replaces.
 * - Strategic merge patch: for our kinds, merge patch plus the directives clients send
 *   ($patch: replace|delete, $retainKeys, $setElementOrder/...). Lists are replaced whole;
 *   the apiserver would merge some lists by key (conditions by type), which none of our
 *   clients rely on.
 * - JSON patch, RFC 6902: add, remove, replace, move, copy, test, with RFC 6901 pointers.
 */
import { ApiError, badRequest } from './api-error.ts';

type Json = unknown;
type JsonMap = Record<string, Json>;

export function isMap(v: unknown): v is JsonMap {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function clone<T>(v: T): T {
  return structuredClone(v);
}

export function mergePatch(target: Json, patch: Json): Json {
  if (!isMap(patch)) return clone(patch);
  const result: JsonMap = isMap(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

export function strategicMergePatch(target: Json, patch: Json): Json {
  if (!isMap(patch)) return clone(patch);
  const directive = patch['$patch'];
  if (directive === 'delete') return undefined;
  const base: JsonMap = directive === 'replace' || !isMap(target) ? {} : { ...target };
  const retain = patch['$retainKeys'];
  if (Array.isArray(retain)) {
    for (const key of Object.keys(base)) if (!retain.includes(key)) delete base[key];
  }
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith('$')) continue;
    if (value === null) {
      delete base[key];
      continue;
    }
    const merged = strategicMergePatch(base[key], value);
    if (merged === undefined) delete base[key];
    else base[key] = merged;
  }
  return base;
}

interface JsonPatchOp {
  op: string;
  path: string;
  from?: string;
  value?: Json;
}

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw badRequest(`invalid JSON pointer: "${pointer}"`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function patchFailure(message: string): ApiError {
  return new ApiError(
    422,
    'Invalid',
    `the server rejected our request due to an error in our request: ${message}`,
  );
}

function getAt(doc: Json, tokens: string[]): Json {
  let cur = doc;
  for (const t of tokens) {
    if (Array.isArray(cur)) {
      const i = Number(t);
      if (!/^\d+$/.test(t) || i >= cur.length) throw patchFailure(`index ${t} out of range`);
      cur = cur[i];
    } else if (isMap(cur)) {
      if (!Object.hasOwn(cur, t)) throw patchFailure(`missing path element "${t}"`);
      cur = cur[t];
    } else {
      throw patchFailure(`cannot descend into a scalar at "${t}"`);
    }
  }
  return cur;
}

/** Returns the parent container (already part of `doc`) and the last token. */
function parentOf(doc: Json, tokens: string[]): { parent: Json; last: string } {
  if (tokens.length === 0) throw patchFailure('the root cannot be the target here');
  return { parent: getAt(doc, tokens.slice(0, -1)), last: tokens[tokens.length - 1]! };
}

function addAt(doc: Json, tokens: string[], value: Json): Json {
  if (tokens.length === 0) return clone(value);
  const { parent, last } = parentOf(doc, tokens);
  if (Array.isArray(parent)) {
    const i = last === '-' ? parent.length : Number(last);
    if (!/^\d+$/.test(last) && last !== '-') throw patchFailure(`bad array index "${last}"`);
    if (i > parent.length) throw patchFailure(`index ${i} out of range`);
    parent.splice(i, 0, clone(value));
  } else if (isMap(parent)) {
    parent[last] = clone(value);
  } else {
    throw patchFailure('cannot add to a scalar');
  }
  return doc;
}

function removeAt(doc: Json, tokens: string[]): Json {
  const { parent, last } = parentOf(doc, tokens);
  if (Array.isArray(parent)) {
    const i = Number(last);
    if (!/^\d+$/.test(last) || i >= parent.length) throw patchFailure(`index ${last} out of range`);
    parent.splice(i, 1);
  } else if (isMap(parent)) {
    if (!Object.hasOwn(parent, last)) throw patchFailure(`missing path element "${last}"`);
    delete parent[last];
  } else {
    throw patchFailure('cannot remove from a scalar');
  }
  return doc;
}

export function jsonPatch(target: Json, ops: Json): Json {
  if (!Array.isArray(ops)) throw badRequest('a JSON patch must be an array of operations');
  let doc = clone(target);
  for (const raw of ops as JsonPatchOp[]) {
    if (!isMap(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') {
      throw badRequest('every JSON patch operation needs "op" and "path"');
    }
    const tokens = parsePointer(raw.path);
    switch (raw.op) {
      case 'add':
        doc = addAt(doc, tokens, raw.value);
        break;
      case 'remove':
        doc = removeAt(doc, tokens);
        break;
      case 'replace':
        getAt(doc, tokens);
        doc =
          tokens.length === 0 ? clone(raw.value) : addAt(removeAt(doc, tokens), tokens, raw.value);
        break;
      case 'move': {
        const from = parsePointer(raw.from ?? '');
        const value = getAt(doc, from);
        doc = addAt(removeAt(doc, from), tokens, value);
        break;
      }
      case 'copy':
        doc = addAt(doc, tokens, getAt(doc, parsePointer(raw.from ?? '')));
        break;
      case 'test':
        if (!deepEqual(getAt(doc, tokens), raw.value)) {
          throw patchFailure(`testing value ${raw.path} failed`);
        }
        break;
      default:
        throw badRequest(`unknown JSON patch operation "${raw.op}"`);
    }
  }
  return doc;
}

export function deepEqual(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  }
  if (isMap(a) && isMap(b)) {
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}
