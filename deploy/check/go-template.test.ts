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
    expect(fails('{{ range .Values.list }}x{{ end }}')).toThrow(/unsupported/);
    expect(fails('{{ if .Values.name }}x')).toThrow(/without \{\{ end/);
    expect(fails('x{{ end }}')).toThrow(/without \{\{ if/);
    expect(fails('{{ $nope }}')).toThrow(/undefined variable/);
    expect(fails('{{ (quote .Values.name }}')).toThrow(/unbalanced/);
    expect(fails('{{ .Values.map }}')).toThrow(/without toYaml/);
    expect(fails('{{ .Values.name ')).toThrow(/unterminated/);
  });

  it('takes the branch Go takes: empty values are false', () => {
    const branch = (condition: string) =>
      renderTemplate(`{{- if ${condition} }}yes{{ else }}no{{ end }}`, context);
    expect(branch('.Values.name')).toBe('yes');
    expect(branch('.Values.empty')).toBe('no');
    expect(branch('.Values.list')).toBe('yes');
    expect(branch('false')).toBe('no');
    expect(branch('0')).toBe('no');
    expect(renderTemplate('a\n{{- if false }}\nb\n{{- end }}\nc', context)).toBe('a\nc');
    expect(renderTemplate('{{ if true }}{{ if false }}x{{ end }}y{{ end }}', context)).toBe('y');
  });

  it('keeps variables, parenthesised arguments, dig, b64enc and randAlphaNum', () => {
    expect(renderTemplate('{{- $x := .Values.map }}{{ $x.missing | quote }}', context)).toBe(
      '"<no value>"',
    );
    expect(renderTemplate('{{ "abc" | b64enc }}', context)).toBe('YWJj');
    expect(renderTemplate('{{ dig "kubernetes.io/os" "x" .Values.map }}', context)).toBe('linux');
    expect(renderTemplate('{{ dig "a" "b" (quote "fallback") .Values.map }}', context)).toBe(
      '"fallback"',
    );
    const random = renderTemplate('{{ randAlphaNum 48 }}', context);
    expect(random).toMatch(/^[A-Za-z0-9]{48}$/);
    expect(renderTemplate('{{ randAlphaNum 48 }}', context)).not.toBe(random);
  });

  it('looks objects up in the context, finding nothing without a cluster', () => {
    const text =
      '{{- $s := lookup "v1" "Secret" .Release.Namespace "k" }}{{ dig "data" "key" "none" $s }}';
    expect(renderTemplate(text, context)).toBe('none');
    const asked: string[] = [];
    const withCluster = {
      ...context,
      lookup: (...args: string[]) => {
        asked.push(args.join('/'));
        return { data: { key: 'c2VjcmV0' } };
      },
    };
    expect(renderTemplate(text, withCluster)).toBe('c2VjcmV0');
    expect(asked).toEqual(['v1/Secret/ns/k']);
  });

  it('lists the fields a template reads', () => {
    expect(
      fieldReferences(
        'a: {{ .Values.a.b | quote }}\n{{- toYaml .Values.c | nindent 2 }} {{ .Release.Namespace }}',
      ),
    ).toEqual(['Values.a.b', 'Values.c', 'Release.Namespace']);
    expect(
      fieldReferences(
        '{{- if .Values.on }}{{ $s := lookup "v1" "S" .Release.Namespace ".not.a.field" }}{{ dig "a" (x .Values.d) $s.data }}{{ end }}',
      ),
    ).toEqual(['Values.on', 'Release.Namespace', 'Values.d']);
  });
});
