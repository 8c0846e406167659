import { describe, expect, it } from 'vitest';
import { fieldReferences, renderTemplate, TemplateError } from './go-template.ts';

const context = {
  Values: {
    name: 'a "b"',
    port: 1048576,
    map: { 'kubernetes.io/os': 'linux' },
    list: [{ operator: 'Exists' }],
    empty: {},
  },
  Release: { Name: 'r', Namespace: 'ns' },
};

describe('Go template subset', () => {
  it('prints fields, quote and int as Helm does', () => {
    expect(renderTemplate('a: {{ .Release.Namespace | quote }}', context)).toBe('a: "ns"');
    expect(renderTemplate('a: {{ .Values.name | quote }}', context)).toBe('a: "a \\"b\\""');
    expect(renderTemplate('p: {{ .Values.port | int }}', context)).toBe('p: 1048576');
    expect(renderTemplate('x-{{ .Values.port }}-y', context)).toBe('x-1048576-y');
  });

  it('trims whitespace on the dashed side only', () => {
    expect(renderTemplate('a:\n  {{- .Release.Name }}\nb', context)).toBe('a:r\nb');
    expect(renderTemplate('a {{ .Release.Name -}}\n\n  b', context)).toBe('a rb');
  });

  it('indents toYaml blocks with nindent', () => {
    const text =
      'spec:\n  nodeSelector:\n    {{- toYaml .Values.map | nindent 4 }}\n  t:\n    {{- toYaml .Values.list | nindent 4 }}\n  e:\n    {{- toYaml .Values.empty | nindent 4 }}\n';
    expect(renderTemplate(text, context)).toBe(
      'spec:\n  nodeSelector:\n    kubernetes.io/os: linux\n  t:\n    - operator: Exists\n  e:\n    {}\n',
    );
  });

  it('refuses undefined fields, unknown functions, actions and unprinted maps', () => {
    const fails = (text: string) => () => renderTemplate(text, context);
    expect(fails('{{ .Values.missing }}')).toThrow(TemplateError);
    expect(fails('{{ .Values.map.nope.deeper }}')).toThrow(/not defined/);
    expect(fails('{{ .Values.name | upper }}')).toThrow(/unsupported/);
    expect(fails('{{ if .Values.name }}x{{ end }}')).toThrow(/unsupported/);
    expect(fails('{{ .Values.map }}')).toThrow(/without toYaml/);
    expect(fails('{{ .Values.name ')).toThrow(/unterminated/);
  });

  it('lists the fields a template reads', () => {
    expect(
      fieldReferences(
        'a: {{ .Values.a.b | quote }}\n{{- toYaml .Values.c | nindent 2 }} {{ .Release.Namespace }}',
      ),
    ).toEqual(['Values.a.b', 'Values.c', 'Release.Namespace']);
  });
});
