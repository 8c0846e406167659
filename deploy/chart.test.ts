import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { fieldReferences } from './check/go-template.ts';
import { chartTemplates, chartValues, manifestObjects, renderChart } from './check/load.ts';
import { chartDirectory } from './generate.ts';
import { crdFiles } from './src/crd-files.ts';
import { appVersion, wholeValuePaths } from './src/values.ts';

// biome-ignore lint/suspicious/noExplicitAny: manifests are untyped YAML; each case reaches into a different nested field
type Json = any;

/** Paths of every setting in a values tree: leaves, and maps or lists taken whole. */
function valuePaths(values: unknown, prefix = ''): string[] {
  if (prefix !== '' && wholeValuePaths.includes(prefix)) return [prefix];
  if (values !== null && typeof values === 'object' && !Array.isArray(values)) {
    return Object.entries(values).flatMap(([k, v]) => valuePaths(v, prefix ? `${prefix}.${k}` : k));
  }
  return [prefix];
}

function has(values: unknown, path: string): boolean {
  let node = values;
  for (const key of path.split('.')) {
    if (node === null || typeof node !== 'object' || !(key in node)) return false;
    node = (node as Record<string, unknown>)[key];
  }
  return true;
}

describe('Helm chart', () => {
  const values = chartValues();
  const templates = chartTemplates();

  it('templates read only values that values.yaml defines, and every value is used', () => {
    const used = new Set<string>();
    for (const [name, text] of templates) {
      for (const ref of fieldReferences(text)) {
        if (ref.startsWith('Release.')) {
          expect(['Release.Namespace', 'Release.Name'], name).toContain(ref);
          continue;
        }
        expect(ref.startsWith('Values.'), `${name}: ${ref}`).toBe(true);
        const path = ref.slice('Values.'.length);
        expect(has(values, path), `${name} reads undefined .${ref}`).toBe(true);
        used.add(path);
      }
    }
    expect([...used].sort()).toEqual(valuePaths(values).sort());
  });

  it('renders, with default values, exactly the plain manifests less namespace and CRDs', () => {
    const rendered = [...renderChart().values()].flat();
    const plain = [...manifestObjects().values()]
      .flat()
      .filter((o) => o['kind'] !== 'Namespace' && o['kind'] !== 'CustomResourceDefinition');
    const key = (o: Record<string, Json>) => `${o['kind']}/${o['metadata']?.name}`;
    expect(rendered.map(key).sort()).toEqual(plain.map(key).sort());
    for (const object of rendered) {
      expect(object, key(object)).toEqual(plain.find((p) => key(p) === key(object)));
    }
  });

  it('installs into the release namespace', () => {
    const rendered = [...renderChart(values, 'net-system').values()].flat() as Json[];
    const ds = rendered.find((o) => o.kind === 'DaemonSet');
    expect(ds.metadata.namespace).toBe('net-system');
    const binding = rendered.find((o) => o.kind === 'ClusterRoleBinding');
    expect(binding.subjects[0].namespace).toBe('net-system');
  });

  it('carries the CRDs unchanged in crds/', () => {
    for (const crd of crdFiles()) {
      const copy = readFileSync(join(chartDirectory, 'crds', crd.name), 'utf8');
      expect(parse(copy)).toEqual(parse(crd.text));
    }
  });

  it('has a Chart.yaml with the package version', () => {
    const chart = parse(readFileSync(join(chartDirectory, 'Chart.yaml'), 'utf8'));
    expect(chart).toMatchObject({
      apiVersion: 'v2',
      name: 'egressgw',
      type: 'application',
      version: appVersion,
      appVersion,
    });
  });

  it('has a values schema that accepts the defaults and refuses bad settings', () => {
    const schema = JSON.parse(readFileSync(join(chartDirectory, 'values.schema.json'), 'utf8'));
    const validate = new Ajv({ strict: true, allowUnionTypes: true }).compile(schema);
    expect(validate(values), JSON.stringify(validate.errors)).toBe(true);
    const bad = (edit: (v: Json) => void) => {
      const v = structuredClone(values) as Json;
      edit(v);
      return validate(v);
    };
    expect(
      bad((v) => {
        v.agent.maxFlows = 1000;
      }),
    ).toBe(false);
    expect(
      bad((v) => {
        v.agent.metricsPort = 70000;
      }),
    ).toBe(false);
    expect(
      bad((v) => {
        v.image.tag = 'a"b';
      }),
    ).toBe(false);
    expect(
      bad((v) => {
        v.agent.tunName = 'a-very-long-interface';
      }),
    ).toBe(false);
    expect(
      bad((v) => {
        v.agent.logLevel = 'verbose';
      }),
    ).toBe(false);
    expect(
      bad((v) => {
        v.image.pullPolicy = 'Sometimes';
      }),
    ).toBe(false);
    expect(
      bad((v) => {
        v.imagee = {};
      }),
    ).toBe(false);
    expect(
      bad((v) => {
        v.tolerations = [{ operator: 'Exist' }];
      }),
    ).toBe(false);
    expect(
      bad((v) => {
        v.resources.limits.memory = '512 MiB';
      }),
    ).toBe(false);
  });
});
