import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildCrd, renderCrds } from './crd.ts';
import { crdDirectory } from './generate-crds.ts';
import { resources } from './resources.ts';

/** An OpenAPI schema node, as far as these tests read it. */
interface SchemaNode {
  properties: Record<string, SchemaNode>;
  [keyword: string]: unknown;
}

type Crd = {
  metadata: { name: string };
  spec: {
    group: string;
    scope: string;
    names: { kind: string; plural: string; shortNames?: string[] };
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      schema: { openAPIV3Schema: SchemaNode };
      subresources: { status: object };
      additionalPrinterColumns: { name: string; jsonPath: string; type: string }[];
    }[];
  };
};

const crd = (kind: keyof typeof resources): Crd => buildCrd(resources[kind]) as Crd;

/** The schema node at a dotted path of properties in the kind's first version. */
function field(kind: keyof typeof resources, path: string): SchemaNode {
  let node = crd(kind).spec.versions[0]!.schema.openAPIV3Schema;
  for (const name of path.split('.')) {
    const child = node.properties[name];
    if (child === undefined) throw new Error(`no ${name} in ${path}`);
    node = child;
  }
  return node;
}

describe('deploy/crds', () => {
  it('holds exactly the generated files (run `npx node host/api/generate-crds.ts`)', () => {
    const generated = renderCrds();
    const committed = readdirSync(crdDirectory)
      .filter((f) => f.endsWith('.yaml'))
      .sort();
    expect(committed).toEqual([...generated.keys()].sort());
    for (const [name, text] of generated) {
      expect(readFileSync(join(crdDirectory, name), 'utf8'), name).toBe(text);
    }
  });

  it('the YAML parses back to the built object', () => {
    for (const [name, text] of renderCrds()) {
      const parsed = parse(text) as Crd;
      const kind = Object.values(resources).find((r) => name.startsWith(`${r.plural}.`))!.kind;
      expect(parsed).toEqual(crd(kind));
    }
  });
});

describe('CRD shape', () => {
  it('all four kinds are cluster-scoped with a status subresource', () => {
    for (const kind of Object.keys(resources) as (keyof typeof resources)[]) {
      const { spec } = crd(kind);
      expect(spec.scope).toBe('Cluster');
      for (const version of spec.versions) expect(version.subresources).toEqual({ status: {} });
    }
  });

  it('Deckhouse kinds are network.deckhouse.io/v1alpha1', () => {
    const gateway = crd('EgressGateway');
    expect(gateway.metadata.name).toBe('egressgateways.network.deckhouse.io');
    expect(gateway.spec.versions.map((v) => [v.name, v.served, v.storage])).toEqual([
      ['v1alpha1', true, true],
    ]);
    expect(crd('EgressGatewayPolicy').metadata.name).toBe(
      'egressgatewaypolicies.network.deckhouse.io',
    );
  });

  it('Antrea kinds serve v1alpha2 and v1beta1 with one schema and store v1beta1', () => {
    for (const kind of ['Egress', 'ExternalIPPool'] as const) {
      const { spec } = crd(kind);
      expect(spec.group).toBe('crd.antrea.io');
      expect(spec.versions.map((v) => [v.name, v.served, v.storage])).toEqual([
        ['v1alpha2', true, false],
        ['v1beta1', true, true],
      ]);
      expect(spec.versions[0]!.schema).toEqual(spec.versions[1]!.schema);
    }
    expect(crd('Egress').spec.names.shortNames).toEqual(['eg']);
  });

  it('printer columns answer "which node and IP" from kubectl get', () => {
    const columns = (kind: keyof typeof resources) =>
      crd(kind).spec.versions[0]!.additionalPrinterColumns.map((c) => [c.name, c.jsonPath]);
    expect(columns('EgressGateway')).toEqual([
      ['Mode', '.spec.sourceIP.mode'],
      ['Active Node', '.status.activeNode'],
      ['IP', '.status.egressIP'],
      ['Ready', '.status.conditions[?(@.type=="Ready")].status'],
    ]);
    expect(columns('EgressGatewayPolicy')).toEqual([
      ['Gateway', '.spec.egressGatewayName'],
      ['Ready', '.status.conditions[?(@.type=="Ready")].status'],
    ]);
    // As in the seed: NAME EGRESSIP AGE NODE.
    expect(columns('Egress')).toEqual([
      ['EgressIP', '.status.egressIP'],
      ['Age', '.metadata.creationTimestamp'],
      ['Node', '.status.egressNode'],
    ]);
    expect(columns('ExternalIPPool').map(([name]) => name)).toEqual(['Total', 'Used', 'Age']);
  });

  it('maps are additionalProperties of string, and IPs carry the ipv4 format', () => {
    expect(field('EgressGateway', 'spec.nodeSelector')).toMatchObject({
      type: 'object',
      additionalProperties: { type: 'string' },
    });
    expect(field('EgressGateway', 'spec.sourceIP.virtualIPAddress.ip')).toMatchObject({
      type: 'string',
      format: 'ipv4',
    });
    expect(field('EgressGateway', 'spec.sourceIP.mode').enum).toEqual([
      'PrimaryIPFromEgressGatewayNodeInterface',
      'VirtualIPAddress',
    ]);
  });

  it('conditions are a list map keyed by type', () => {
    expect(field('Egress', 'status.conditions')).toMatchObject({
      type: 'array',
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['type'],
    });
  });

  it('no ajv-only strictness leaks into the CRD', () => {
    for (const text of renderCrds().values()) {
      expect(text).not.toContain('additionalProperties: false');
      expect(text).not.toContain('$ref');
      expect(text).not.toContain('const:');
      expect(text).not.toContain('patternProperties');
    }
  });
});
