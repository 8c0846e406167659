import { describe, expect, it } from 'vitest';
import { parseYamlStream } from './yaml-stream.ts';

const lines = (...text: string[]): string => `${text.join('\n')}\n`;

describe('parseYamlStream', () => {
  it('reads each document of a stream as an object with its start', () => {
    const stream = parseYamlStream(
      lines('kind: A', 'metadata: {name: a}', '---', '# comment', 'kind: B', '---', ''),
    );
    expect(stream.problems).toEqual([]);
    expect(stream.documents).toBe(2);
    expect(stream.objects.map((o) => o.value)).toEqual([
      { kind: 'A', metadata: { name: 'a' } },
      { kind: 'B' },
    ]);
    expect(stream.objects.map((o) => o.position)).toEqual([
      { line: 1, column: 1 },
      { line: 5, column: 1 },
    ]);
  });

  it('gives nothing and no problem for an empty stream or empty documents', () => {
    for (const text of ['', '# only a comment\n', '---\n---\n', '---\nnull\n']) {
      const stream = parseYamlStream(text);
      expect(stream, text).toMatchObject({ objects: [], problems: [], documents: 0 });
    }
  });

  it('reads the items of a kind: List document, each with its own positions', () => {
    const stream = parseYamlStream(
      lines(
        'apiVersion: v1',
        'kind: List',
        'items:',
        '  - kind: Node',
        '    metadata:',
        '      name: n1',
        '  - kind: Pod',
        '    metadata: {name: p1}',
      ),
    );
    expect(stream.problems).toEqual([]);
    expect(stream.objects.map((o) => (o.value as { kind: string }).kind)).toEqual(['Node', 'Pod']);
    expect(stream.objects[0]!.position).toEqual({ line: 4, column: 5 });
    expect(stream.objects[0]!.locate(['metadata', 'name'])).toEqual({ line: 6, column: 13 });
    expect(stream.objects[1]!.locate(['metadata', 'name'])).toEqual({ line: 8, column: 22 });
  });

  it('reads the items of a document that is a sequence', () => {
    const stream = parseYamlStream(lines('- kind: A', '- kind: B', '- just text'));
    expect(stream.objects.map((o) => o.value)).toEqual([{ kind: 'A' }, { kind: 'B' }]);
    expect(stream.problems).toEqual([
      expect.objectContaining({
        code: 'NOT_AN_OBJECT',
        severity: 'error',
        position: { line: 3, column: 3 },
        message: expect.stringContaining('sequence item 2'),
      }),
    ]);
  });

  it('reports a document that is not a mapping', () => {
    const stream = parseYamlStream(lines('kind: A', '---', 'hello'));
    expect(stream.objects).toHaveLength(1);
    expect(stream.problems).toEqual([
      expect.objectContaining({ code: 'NOT_AN_OBJECT', position: { line: 3, column: 1 } }),
    ]);
  });

  it('locates scalars at their value, collections at their key, missing fields at the parent', () => {
    const [object] = parseYamlStream(
      lines(
        'spec:',
        '  ipRanges:',
        '    - start: 10.0.0.1',
        '      end: 10.0.0.9',
        '    - cidr: 10.1.0.0/24',
        '  selector: {app: web}',
      ),
    ).objects;
    expect(object!.locate(['spec', 'ipRanges', 0, 'end'])).toEqual({ line: 4, column: 12 });
    expect(object!.locate(['spec', 'ipRanges', 1])).toEqual({ line: 5, column: 7 });
    expect(object!.locate(['spec', 'ipRanges'])).toEqual({ line: 2, column: 3 });
    expect(object!.locate(['spec', 'selector', 'app'])).toEqual({ line: 6, column: 19 });
    expect(object!.locate(['spec', 'ipRanges', 0, 'end'], 'key')).toEqual({ line: 4, column: 7 });
    // Missing: the nearest parent that exists.
    expect(object!.locate(['spec', 'ipRanges', 7, 'start'])).toEqual({ line: 2, column: 3 });
    expect(object!.locate(['spec', 'nodeSelector', 'x'])).toEqual({ line: 1, column: 1 });
    expect(object!.locate(['spec', 'selector', 'app', 'deeper'])).toEqual({ line: 6, column: 19 });
    expect(object!.locate([])).toEqual({ line: 1, column: 1 });
  });

  it('follows aliases to the anchored node', () => {
    const [, second] = parseYamlStream(
      lines('labels: &l {app: web}', 'x: 1', '---', 'a: &s {b: 1}', 'c: *s'),
    ).objects;
    expect(second!.value).toEqual({ a: { b: 1 }, c: { b: 1 } });
    expect(second!.locate(['c', 'b'])).toEqual({ line: 4, column: 11 });
  });

  it('reports a syntax error at its position and still reads the other documents', () => {
    const stream = parseYamlStream(
      lines(
        'kind: First',
        '---',
        'kind: Broken',
        'spec:',
        '  a: b: c',
        '---',
        'kind: Duplicate',
        'kind: Again',
        '---',
        'kind: Last',
      ),
    );
    expect(stream.objects.map((o) => o.value)).toEqual([{ kind: 'First' }, { kind: 'Last' }]);
    expect(stream.documents).toBe(4);
    expect(stream.brokenDocuments).toBe(2);
    expect(stream.problems.map((p) => [p.code, p.position.line, p.position.column])).toEqual([
      ['BLOCK_AS_IMPLICIT_KEY', 5, 6],
      ['DUPLICATE_KEY', 8, 1],
    ]);
    expect(stream.problems.every((p) => p.severity === 'error')).toBe(true);
  });

  it('refuses an alias bomb instead of expanding it', () => {
    const bomb = lines(
      'a: &a [x, x, x, x, x, x, x, x, x, x]',
      'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]',
      'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]',
      'd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]',
      'e: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]',
    );
    const stream = parseYamlStream(bomb);
    expect(stream.objects).toEqual([]);
    expect(stream.brokenDocuments).toBe(1);
    expect(stream.problems).toEqual([
      expect.objectContaining({ code: 'UNREADABLE_DOCUMENT', position: { line: 1, column: 1 } }),
    ]);
  });
});
