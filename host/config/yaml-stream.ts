import {
  type Document,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  type ParsedNode,
  parseAllDocuments,
} from 'yaml';

/**
 * A multi-document YAML stream read into plain objects that remember where they came
 * from, so that a problem found later in a field of an object can be shown at the line
 * and column of that field.
 *
 * What counts as one object, as kubectl reads `-f`:
 *  - a document that is a mapping;
 *  - each item of a `kind: List` document (`items`), as `kubectl get -o yaml` writes;
 *  - each item of a document that is a sequence (the Antrea docs write pools that way).
 * Each document is parsed on its own: a syntax error makes that document's objects
 * unusable (its tree is whatever the parser could recover, not what the author meant),
 * and the other documents are still read.
 */

/** 1-based, as editors and compilers print them. */
export interface SourcePosition {
  line: number;
  column: number;
}

/** A field path below an object: map keys and sequence indexes. */
export type FieldPath = readonly (string | number)[];

export interface StreamObject {
  /** The object as plain data (maps are plain objects, sequences arrays). */
  value: unknown;
  /** Where the object starts. */
  position: SourcePosition;
  /**
   * Where `path` is written: the value for a scalar, the key for a mapping or sequence
   * value (the key line reads better than the first line of the block), or always the
   * key with `on: 'key'` (a field that should not be there). A path that does not exist
   * (a missing field) gives its nearest existing parent.
   */
  locate(path: FieldPath, on?: 'key' | 'value'): SourcePosition;
}

export interface StreamProblem {
  position: SourcePosition;
  severity: 'error' | 'warning';
  /** The yaml package's code (BAD_INDENT, DUPLICATE_KEY...) or NOT_AN_OBJECT. */
  code: string;
  message: string;
}

export interface ParsedStream {
  objects: StreamObject[];
  problems: StreamProblem[];
  /** Documents that are not empty. */
  documents: number;
  /** Documents whose objects were dropped for a syntax error. */
  brokenDocuments: number;
}

type YamlDocument = Document.Parsed<ParsedNode, true>;

function positionAt(lines: LineCounter, offset: number): SourcePosition {
  const { line, col } = lines.linePos(offset);
  return { line, column: col };
}

function startOf(node: Node | null | undefined): number | null {
  return node?.range?.[0] ?? null;
}

/** Finds the node of `path` under `root`, stopping at the nearest one that exists. */
function locateOffset(
  document: YamlDocument,
  root: Node,
  path: FieldPath,
  on: 'key' | 'value',
): number {
  let node: unknown = root;
  // Where the last step was written: a mapping value is shown at its key.
  let offset = startOf(root) ?? 0;
  for (const segment of path) {
    if (isAlias(node)) node = node.resolve(document);
    if (isMap(node)) {
      const pair = node.items.find(
        (item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(segment),
      );
      if (pair === undefined) return offset;
      const key = pair.key as Node;
      const value = pair.value as Node | null;
      const valueStart = startOf(value);
      const keyStart = startOf(key) ?? offset;
      offset = on === 'value' && isScalar(value) && valueStart !== null ? valueStart : keyStart;
      node = value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment] as Node | undefined;
      const itemStart = startOf(item);
      if (item === undefined || itemStart === null) return offset;
      offset = itemStart;
      node = item;
    } else {
      return offset;
    }
  }
  return offset;
}

function streamObject(
  document: YamlDocument,
  root: Node,
  value: unknown,
  lines: LineCounter,
): StreamObject {
  return {
    value,
    position: positionAt(lines, startOf(root) ?? 0),
    locate: (path, on = 'value') => positionAt(lines, locateOffset(document, root, path, on)),
  };
}

function isListDocument(value: unknown): value is { kind: 'List'; items: unknown[] } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const { kind, items } = value as { kind?: unknown; items?: unknown };
  return kind === 'List' && Array.isArray(items);
}

function notAnObject(position: SourcePosition, what: string): StreamProblem {
  return {
    position,
    severity: 'error',
    code: 'NOT_AN_OBJECT',
    message: `${what} is not an object (a mapping with apiVersion, kind and metadata)`,
  };
}

/** The objects of one error-free document, and the problems of items that are not maps. */
function documentObjects(document: YamlDocument, lines: LineCounter, out: ParsedStream): void {
  const root = document.contents as Node;
  const value: unknown = document.toJS({ maxAliasCount: 100 });
  let items: Node[] = [];
  let values: unknown[] = [];
  let itemName = 'item';
  if (isListDocument(value)) {
    const itemsNode = isMap(root) ? root.get('items', true) : undefined;
    items = isSeq(itemsNode) ? (itemsNode.items as Node[]) : [];
    values = value.items;
    itemName = 'List item';
  } else if (Array.isArray(value) && isSeq(root)) {
    items = root.items as Node[];
    values = value;
    itemName = 'sequence item';
  } else if (isMap(root)) {
    out.objects.push(streamObject(document, root, value, lines));
    return;
  } else {
    out.problems.push(notAnObject(positionAt(lines, startOf(root) ?? 0), 'the document'));
    return;
  }
  values.forEach((itemValue, index) => {
    const node = items[index]!;
    if (isMap(node) || (isAlias(node) && isMap(node.resolve(document)))) {
      out.objects.push(streamObject(document, node, itemValue, lines));
    } else {
      out.problems.push(notAnObject(positionAt(lines, startOf(node) ?? 0), `${itemName} ${index}`));
    }
  });
}

/** Reads every document of `text`; never throws on bad YAML. */
export function parseYamlStream(text: string): ParsedStream {
  const lines = new LineCounter();
  const parsed = parseAllDocuments(text, {
    lineCounter: lines,
    // Positions come from the LineCounter; the pretty form would repeat them in the text.
    prettyErrors: false,
    uniqueKeys: true,
  });
  const out: ParsedStream = { objects: [], problems: [], documents: 0, brokenDocuments: 0 };
  // An empty stream (only comments or nothing) parses to an EmptyStream, not an array.
  const documents: YamlDocument[] = Array.isArray(parsed) ? parsed : [];
  for (const document of documents) {
    for (const warning of document.warnings) {
      out.problems.push({
        position: positionAt(lines, warning.pos[0]),
        severity: 'warning',
        code: warning.code,
        message: warning.message,
      });
    }
    if (document.errors.length > 0) {
      out.documents++;
      out.brokenDocuments++;
      for (const error of document.errors) {
        out.problems.push({
          position: positionAt(lines, error.pos[0]),
          severity: 'error',
          code: error.code,
          message: error.message,
        });
      }
      continue;
    }
    // `---` with nothing after it, or a document that is only `null`: nothing to read.
    if (
      document.contents === null ||
      (isScalar(document.contents) && document.contents.value === null)
    ) {
      continue;
    }
    out.documents++;
    try {
      documentObjects(document, lines, out);
    } catch (cause) {
      // toJS throws on alias bombs (maxAliasCount) and on alias cycles.
      out.brokenDocuments++;
      out.problems.push({
        position: positionAt(lines, startOf(document.contents as Node) ?? 0),
        severity: 'error',
        code: 'UNREADABLE_DOCUMENT',
        message: cause instanceof Error ? cause.message : String(cause),
      });
    }
  }
  return out;
}
