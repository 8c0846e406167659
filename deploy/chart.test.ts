import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { fieldReferences } from './check/go-template.ts';
import { chartTemplates, chartValues, manifestObjects, renderChart } from './check/load.ts';
import { chartDirectory } from './generate.ts';
import { antreaGroup, crdFiles } from './src/crd-files.ts';
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

  const key = (o: Record<string, Json>) => `${o['kind']}/${o['metadata']?.name}`;
  const objects = (rendered: Map<string, Record<string, unknown>[]>) =>
    [...rendered.values()].flat() as Json[];
  const antreaCrds = crdFiles().filter((crd) => crd.group === antreaGroup);

  it('renders, with default values, exactly the plain manifests less namespace and CRDs', () => {
    const rendered = objects(renderChart()).filter(
      (o) => o.kind !== 'Secret' && o.kind !== 'CustomResourceDefinition',
    );
    const plain = [...manifestObjects().values()]
      .flat()
      .filter((o) => o['kind'] !== 'Namespace' && o['kind'] !== 'CustomResourceDefinition');
    expect(rendered.map(key).sort()).toEqual(plain.map(key).sort());
    for (const object of rendered) {
      expect(object, key(object)).toEqual(plain.find((p) => key(p) === key(object)));
    }
  });

  it('installs into the release namespace', () => {
    const rendered = objects(renderChart(values, 'net-system'));
    const ds = rendered.find((o) => o.kind === 'DaemonSet');
    expect(ds.metadata.namespace).toBe('net-system');
    const binding = rendered.find((o) => o.kind === 'ClusterRoleBinding');
    expect(binding.subjects[0].namespace).toBe('net-system');
    expect(rendered.find((o) => o.kind === 'Secret').metadata.namespace).toBe('net-system');
  });

  it('carries the Deckhouse CRDs unchanged in crds/, and no Antrea CRD there', () => {
    const inCrds = readdirSync(join(chartDirectory, 'crds')).sort();
    const deckhouse = crdFiles().filter((crd) => crd.group !== antreaGroup);
    expect(inCrds).toEqual(deckhouse.map((crd) => crd.name));
    for (const crd of deckhouse) {
      const copy = readFileSync(join(chartDirectory, 'crds', crd.name), 'utf8');
      expect(parse(copy)).toEqual(parse(crd.text));
    }
    expect(antreaCrds.map((crd) => crd.name).sort()).toEqual([
      'egresses.crd.antrea.io.yaml',
      'externalippools.crd.antrea.io.yaml',
    ]);
  });

  it('installs the Antrea CRDs from templates, kept on uninstall, unless crds.antrea is false', () => {
    const rendered = objects(renderChart()).filter((o) => o.kind === 'CustomResourceDefinition');
    expect(rendered.map((o) => o.spec.group)).toEqual(antreaCrds.map(() => antreaGroup));
    for (const crd of antreaCrds) {
      const expected = parse(crd.text);
      expected.metadata.annotations = { 'helm.sh/resource-policy': 'keep' };
      expect(rendered.find((o) => o.metadata.name === expected.metadata.name)).toEqual(expected);
    }
    const off = structuredClone(values) as Json;
    off.crds.antrea = false;
    const withoutAntrea = renderChart(off);
    expect(objects(withoutAntrea).filter((o) => o.kind === 'CustomResourceDefinition')).toEqual([]);
    // Switched off, the template renders to nothing, not to a comment-only document.
    for (const crd of antreaCrds) {
      expect(withoutAntrea.get(`crd-${crd.name}`)).toEqual([]);
      const text = templates.get(`crd-${crd.name}`)!;
      expect(text.startsWith('{{- if .Values.crds.antrea }}\n'), crd.name).toBe(true);
      expect(text.endsWith('{{- end }}\n'), crd.name).toBe(true);
    }
  });

  describe('heartbeat Secret', () => {
    const secretOf = (rendered: Map<string, Record<string, unknown>[]>) =>
      objects(rendered).filter((o) => o.kind === 'Secret');
    const mountedSecret = (rendered: Map<string, Record<string, unknown>[]>) =>
      objects(rendered)
        .find((o) => o.kind === 'DaemonSet')
        .spec.template.spec.volumes.find((v: Json) => v.name === 'heartbeat').secret.secretName;

    it('reads the existing Secret and falls back to a random key, in the template text', () => {
      const text = templates.get('heartbeat-secret.yaml')!;
      expect(text.startsWith('{{- if .Values.heartbeat.create }}\n')).toBe(true);
      expect(text).toContain(
        '{{- $existing := lookup "v1" "Secret" .Release.Namespace .Values.heartbeat.secretName }}\n',
      );
      expect(text).toContain(
        '  secret: {{ dig "data" "secret" (randAlphaNum 48 | b64enc) $existing | quote }}\n',
      );
      expect(text).toContain('  name: {{ .Values.heartbeat.secretName | quote }}\n');
      expect(text.endsWith('{{- end }}\n')).toBe(true);
    });

    it('is made on install with a fresh key of 48 letters and digits under `secret`', () => {
      const first = secretOf(renderChart());
      expect(first).toHaveLength(1);
      const secret = first[0];
      expect(secret.metadata).toMatchObject({ name: 'egressgw-heartbeat', namespace: 'egressgw' });
      expect(secret.type).toBe('Opaque');
      expect(Object.keys(secret.data)).toEqual(['secret']);
      const key = Buffer.from(secret.data.secret, 'base64').toString('utf8');
      expect(key).toMatch(/^[A-Za-z0-9]{48}$/);
      // The DaemonSet mounts the Secret the chart made, and the agent reads its `secret`.
      expect(mountedSecret(renderChart())).toBe('egressgw-heartbeat');
      // Another install (lookup finds nothing): another key.
      expect(secretOf(renderChart())[0].data.secret).not.toBe(secret.data.secret);
    });

    it('keeps the key of the Secret already in the cluster on upgrade', () => {
      const existing = Buffer.from('kept-key-from-the-first-install').toString('base64');
      const asked: string[] = [];
      const rendered = renderChart(values, 'net-system', (apiVersion, kind, namespace, name) => {
        asked.push(`${apiVersion}/${kind}/${namespace}/${name}`);
        return kind === 'Secret' && name === 'egressgw-heartbeat' && namespace === 'net-system'
          ? { apiVersion, kind, metadata: { name, namespace }, data: { secret: existing } }
          : null;
      });
      expect(asked).toEqual(['v1/Secret/net-system/egressgw-heartbeat']);
      expect(secretOf(rendered)[0].data).toEqual({ secret: existing });
      // A Secret that exists without the key (made by hand, wrongly) gets a new key.
      const keyless = secretOf(
        renderChart(values, 'egressgw', () => ({ data: { other: existing } })),
      );
      expect(keyless[0].data.secret).not.toBe(existing);
    });

    it('with heartbeat.create false, is not made, and the DaemonSet mounts the named one', () => {
      const own = structuredClone(values) as Json;
      own.heartbeat = { create: false, secretName: 'my-heartbeat-key' };
      const rendered = renderChart(own);
      expect(secretOf(rendered)).toEqual([]);
      expect(rendered.get('heartbeat-secret.yaml')).toEqual([]);
      expect(mountedSecret(rendered)).toBe('my-heartbeat-key');
    });
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
    expect(
      bad((v) => {
        v.heartbeat.secretName = 'Heartbeat_Key';
      }),
    ).toBe(false);
    expect(
      bad((v) => {
        v.heartbeat.create = 'yes';
      }),
    ).toBe(false);
    expect(
      bad((v) => {
        v.crds.antrea = 'false';
      }),
    ).toBe(false);
    expect(
      bad((v) => {
        v.crds.deckhouse = false;
      }),
    ).toBe(false);
  });
});
