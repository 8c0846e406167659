import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderTemplate } from '../check/go-template.ts';
import { marker, markerValues, toTemplate } from './template-markers.ts';
import { defaultValues, type Values } from './values.ts';

/** A small builder in the style of workload.ts. */
function build(v: Values, namespace: string) {
  return {
    metadata: { namespace },
    spec: {
      image: `${v.image.repository}:${v.image.tag}`,
      port: v.agent.metricsPort,
      args: [`--max-flows=${v.agent.maxFlows}`, `--tun-name=${v.agent.tunName}`, '--fixed'],
      nodeSelector: v.nodeSelector,
      list: [{ name: 'x', resources: v.resources }],
    },
  };
}

describe('template markers', () => {
  const { values, kinds } = markerValues(defaultValues);
  const template = toTemplate(build(values, marker('Release.Namespace')), kinds);

  it('turns each use of a value into the matching template action', () => {
    expect(template).toContain('namespace: {{ .Release.Namespace | quote }}');
    expect(template).toContain('image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"');
    expect(template).toContain('port: {{ .Values.agent.metricsPort | int }}');
    expect(template).toContain('- "--max-flows={{ .Values.agent.maxFlows | int }}"');
    expect(template).toContain('- --fixed');
    expect(template).toContain(
      '  nodeSelector:\n    {{- toYaml .Values.nodeSelector | nindent 4 }}\n',
    );
    expect(template).toContain(
      '      resources:\n        {{- toYaml .Values.resources | nindent 8 }}\n',
    );
    expect(template).not.toMatch(/EGW(SCALAR|BLOCK)|\uE000/);
  });

  it('renders back to exactly what the builder makes from the values', () => {
    const other: Values = {
      ...defaultValues,
      image: { ...defaultValues.image, tag: '1.0' },
      agent: { ...defaultValues.agent, maxFlows: 1_048_576, metricsPort: 10_000 },
      nodeSelector: {},
      resources: { requests: { cpu: '1', memory: '1Gi' }, limits: { memory: '2Gi' } },
    };
    for (const v of [defaultValues, other]) {
      const rendered = renderTemplate(template, {
        Values: JSON.parse(JSON.stringify(v)),
        Release: { Name: 'x', Namespace: 'ns-1' },
      });
      expect(parse(rendered)).toEqual(build(v, 'ns-1'));
    }
  });

  it('prints booleans bare, so YAML reads them back as booleans', () => {
    expect(kinds.get('crds.antrea')).toBe('boolean');
    const flag = toTemplate({ on: values.crds.antrea, text: `x-${values.crds.antrea}` }, kinds);
    expect(flag).toBe('on: {{ .Values.crds.antrea }}\ntext: "x-{{ .Values.crds.antrea }}"\n');
    for (const antrea of [true, false]) {
      const rendered = renderTemplate(flag, {
        Values: { ...defaultValues, crds: { antrea } },
        Release: { Name: 'x', Namespace: 'ns' },
      });
      expect(parse(rendered)).toEqual({ on: antrea, text: `x-${antrea}` });
    }
  });

  it('refuses a placeholder in a key or a map value inside text', () => {
    expect(() => toTemplate({ [values.image.tag]: 1 }, kinds)).toThrow(/key/);
    expect(() => toTemplate({ a: `x${String(values.nodeSelector)}` }, kinds)).toThrow(
      /inside text/,
    );
  });

  it('loses the placeholder when a builder computes with a value, so renders differ', () => {
    const computing = (v: Values) => ({ port: Number(v.agent.metricsPort) + 1 });
    const rendered = parse(
      renderTemplate(toTemplate(computing(values), kinds), {
        Values: defaultValues,
        Release: { Name: 'x', Namespace: 'ns' },
      }),
    );
    expect(rendered).not.toEqual(computing(defaultValues));
  });
});
