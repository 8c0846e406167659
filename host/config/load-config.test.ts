import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SeedFile } from '../api/fixtures/seed-objects.ts';
import { compile } from '../control/compile.ts';
import { errorCount, loadConfig } from './load-config.ts';
import { formatProblem } from './problem.ts';

const seedDirectory = join(import.meta.dirname, '../api/fixtures');
const mistakesFile = join(import.meta.dirname, 'fixtures/mistakes.yaml.txt');

/** The documents of a seed file, as text (the seeds' own comments included). */
function seedDocuments(file: SeedFile): string[] {
  const text = readFileSync(join(seedDirectory, file), 'utf8');
  return text
    .split(/^---$/m)
    .slice(1)
    .map((document) => document.trim());
}

const lines = (...text: string[]): string => `${text.join('\n')}\n`;

describe('the seeds’ examples', () => {
  // The seeds show alternatives (two gateways named egress-gw, two Egresses named
  // egress-prod-web), so each consistent set of documents is one file.
  const sets: [SeedFile, number[]][] = [
    ['deckhouse-seed.en.yaml', [0, 2]],
    ['deckhouse-seed.en.yaml', [1, 2]],
    ['deckhouse-seed.ru.yaml', [0, 2]],
    ['deckhouse-seed.ru.yaml', [1, 2]],
    ['deckhouse-stronghold-seed.en.yaml', [0, 2]],
    ['deckhouse-stronghold-seed.en.yaml', [1, 2]],
    ['antrea-seed.yaml', [0, 1]],
    ['antrea-seed.yaml', [2, 3, 4, 5, 6]],
  ];
  for (const [file, indexes] of sets) {
    it(`${file} documents ${indexes.join(', ')} load without a problem`, () => {
      const documents = seedDocuments(file);
      const text = indexes.map((i) => `---\n${documents[i]}\n`).join('');
      const load = loadConfig(text, file);
      expect(load.problems.map(formatProblem)).toEqual([]);
      // One object per document (the Antrea pools are one-item sequences).
      expect(load.objects).toHaveLength(indexes.length);
    });
  }

  it('whole seed files differ only by their repeated names', () => {
    for (const file of ['deckhouse-seed.en.yaml', 'antrea-seed.yaml'] satisfies SeedFile[]) {
      const load = loadConfig(readFileSync(join(seedDirectory, file), 'utf8'), file);
      expect(load.problems.map((p) => [p.reason, p.object?.name])).toEqual([
        ['DuplicateName', file === 'antrea-seed.yaml' ? 'egress-prod-web' : 'egress-gw'],
      ]);
    }
  });
});

describe('loadConfig: a file with one mistake per object', () => {
  const load = loadConfig(readFileSync(mistakesFile, 'utf8'), 'mistakes.yaml');

  it('reports each at the line and column of the offending field', () => {
    expect(load.problems.map(formatProblem)).toEqual([
      'mistakes.yaml:22:7: EgressGatewayPolicy/bad-cidr spec.destinationCIDRs[1]: invalid IPv4 CIDR "198.51.100.0/33": prefix length "33" is not a number from 0 to 32',
      'mistakes.yaml:38:11: EgressGateway/gw-vip spec.sourceIP.virtualIPAddress.ip: invalid IPv4 address "172.18.18.300": octet 300 is above 255',
      'mistakes.yaml:46:22: EgressGatewayPolicy/lost-policy spec.egressGatewayName: no EgressGateway named no-such-gateway',
      'mistakes.yaml:57:7: ExternalIPPool/backwards-pool spec.ipRanges[1]: start 10.10.0.20 is above end 10.10.0.10',
      'mistakes.yaml:68:3: syntax error: Flow map in block collection must be sufficiently indented and end with a }',
    ]);
    expect(load.problems.map((p) => [p.reason, p.field])).toEqual([
      ['InvalidCIDR', 'spec.destinationCIDRs[1]'],
      ['InvalidIP', 'spec.sourceIP.virtualIPAddress.ip'],
      ['GatewayNotFound', 'spec.egressGatewayName'],
      ['InvalidRange', 'spec.ipRanges[1]'],
      ['YAMLSyntax', ''],
    ]);
    expect(errorCount(load.problems)).toBe(5);
  });

  it('reads the documents after the broken one, and keeps invalid objects for compile', () => {
    expect(load.documents).toBe(7);
    expect(load.brokenDocuments).toBe(1);
    expect(load.objects.map((o) => (o.metadata as { name: string }).name)).toEqual([
      'gw-primary',
      'bad-cidr',
      'gw-vip',
      'lost-policy',
      'backwards-pool',
      'after-the-break',
    ]);
  });
});

describe('loadConfig: text encodings', () => {
  it('gives the same positions for CRLF line ends and a byte order mark', () => {
    const text = readFileSync(mistakesFile, 'utf8');
    const expected = loadConfig(text, 'f').problems.map(formatProblem);
    expect(loadConfig(text.replaceAll('\n', '\r\n'), 'f').problems.map(formatProblem)).toEqual(
      expected,
    );
    expect(loadConfig(`\uFEFF${text}`, 'f').problems.map(formatProblem)).toEqual(expected);
  });
});

describe('loadConfig: cluster objects', () => {
  const text = lines(
    'apiVersion: v1',
    'kind: List',
    'items:',
    '  - apiVersion: v1',
    '    kind: Node',
    '    metadata:',
    '      name: gw-1',
    '      labels: {role: egress}',
    '    status:',
    '      conditions: [{type: Ready, status: "True"}]',
    '      addresses: [{type: InternalIP, address: 172.18.18.10}]',
    '  - apiVersion: v1',
    '    kind: Pod',
    '    metadata: {name: web-0, namespace: prod, labels: {app: web}}',
    '    spec: {nodeName: worker-1}',
    '    status: {phase: Running, podIP: 10.244.1.7}',
    '  - apiVersion: v1',
    '    kind: Node',
    '    metadata: {name: gw-1}',
    '  - apiVersion: v1',
    '    kind: ConfigMap',
    '    metadata: {name: settings}',
    '  - kind: EgressGateway',
    '    metadata: {name: no-version}',
    '---',
    'apiVersion: v1',
    'kind: Namespace',
    'metadata: {name: staging, labels: {env: staging}}',
    '---',
    'apiVersion: v1',
    'kind: Pod',
    'metadata: {name: broken, namespace: prod}',
    'status: {phase: Running, podIP: 10.244.1}',
  );
  const load = loadConfig(text, 'cluster.yaml');

  it('reads Node, Pod and Namespace objects of a List and of plain documents', () => {
    expect(load.nodes).toEqual([
      {
        name: 'gw-1',
        labels: { role: 'egress' },
        ready: true,
        unschedulable: false,
        addresses: ['172.18.18.10'],
        interfaces: null,
        podCIDRs: [],
      },
    ]);
    expect(load.pods.map((p) => `${p.namespace}/${p.name} ${p.ip}`)).toEqual([
      'prod/web-0 10.244.1.7',
    ]);
    // prod is not declared, but its pod's namespace exists in any cluster.
    expect(load.namespaces).toEqual([
      { name: 'staging', labels: { env: 'staging' } },
      { name: 'prod', labels: {} },
    ]);
    expect(load.objects).toEqual([]);
    expect(load.objectCount).toBe(7);
  });

  it('reports repeats, unknown kinds, missing apiVersion and bad fields where they are', () => {
    expect(load.problems.map(formatProblem)).toEqual([
      // The repeated node has no status at all: the warning points at the object.
      'cluster.yaml:17:5: warning: Node/gw-1 status.conditions: no Ready condition; the node counts as not ready (add {type: Ready, status: "True"})',
      'cluster.yaml:19:22: Node/gw-1 another Node named gw-1 comes first; this one is ignored',
      'cluster.yaml:20:5: warning: ConfigMap/settings v1 ConfigMap is not read by egressgw; skipped',
      'cluster.yaml:23:5: EgressGateway/no-version apiVersion: required field is missing (every object needs apiVersion and kind)',
      'cluster.yaml:33:33: Pod/broken status.podIP: invalid IPv4 address "10.244.1": expected four decimal octets a.b.c.d without leading zeros',
    ]);
    expect(load.problems.map((p) => p.field)).toEqual([
      'status.conditions',
      'metadata.name',
      '',
      'apiVersion',
      'status.podIP',
    ]);
  });
});

describe('loadConfig: checks across objects', () => {
  it('finds an address held twice and a name used twice, as compile does', () => {
    const text = lines(
      'apiVersion: network.deckhouse.io/v1alpha1',
      'kind: EgressGateway',
      'metadata: {name: a}',
      'spec:',
      '  nodeSelector: {}',
      '  sourceIP: {mode: VirtualIPAddress, virtualIPAddress: {ip: 172.18.18.242}}',
      '---',
      'apiVersion: crd.antrea.io/v1beta1',
      'kind: Egress',
      'metadata: {name: e}',
      'spec:',
      '  appliedTo: {podSelector: {}}',
      '  egressIP: 172.18.18.242',
      '---',
      'apiVersion: network.deckhouse.io/v1alpha1',
      'kind: EgressGateway',
      'metadata: {name: a}',
      'spec:',
      '  nodeSelector: {}',
      '  sourceIP: {mode: VirtualIPAddress, virtualIPAddress: {ip: 172.18.18.243}}',
    );
    const load = loadConfig(text, 'f.yaml');
    expect(load.problems.map((p) => [p.line, p.column, p.reason, p.object?.name])).toEqual([
      [13, 13, 'IPConflict', 'e'],
      [17, 18, 'DuplicateName', 'a'],
    ]);
    // What compile makes of the same objects agrees.
    const result = compile(load.objects, {
      nodes: load.nodes,
      pods: load.pods,
      namespaces: load.namespaces,
      clusterCIDRs: [],
      liveAgents: new Set(),
      chooseActive: () => null,
    });
    const egress = result.statuses.find((s) => s.kind === 'Egress')!;
    expect(egress.status.conditions?.find((c) => c.type === 'Valid')?.reason).toBe('IPConflict');
    expect(result.unwritable.map((u) => u.issues[0]?.reason)).toEqual(['DuplicateName']);
  });

  it('places a warning on the field and keeps the object usable', () => {
    const text = lines(
      'apiVersion: network.deckhouse.io/v1alpha1',
      'kind: EgressGateway',
      'metadata: {name: gw}',
      'spec:',
      '  nodeSelector: {}',
      '  sourceIP:',
      '    mode: PrimaryIPFromEgressGatewayNodeInterface',
      '    primaryIPFromEgressGatewayNodeInterface: {interfaceName: eth1}',
      '---',
      'apiVersion: network.deckhouse.io/v1alpha1',
      'kind: EgressGatewayPolicy',
      'metadata: {name: p}',
      'spec:',
      '  egressGatewayName: gw',
      '  destinationCIDRs: [203.0.113.7/24]',
      '  selectors: [{podSelector: {matchLabels: {app: web}}}]',
      '  extra: true',
    );
    const load = loadConfig(text, 'f.yaml');
    expect(load.problems.map(formatProblem)).toEqual([
      'f.yaml:17:3: EgressGatewayPolicy/p spec: unknown field "extra"',
    ]);
    const withoutExtra = loadConfig(text.replace('  extra: true\n', ''), 'f.yaml');
    expect(withoutExtra.problems.map(formatProblem)).toEqual([
      'f.yaml:15:22: warning: EgressGatewayPolicy/p spec.destinationCIDRs[0]: 203.0.113.7/24 has host bits set; it is read as its network address',
    ]);
  });

  it('reports a missing required field at its nearest parent', () => {
    const load = loadConfig(
      lines(
        'apiVersion: crd.antrea.io/v1beta1',
        'kind: ExternalIPPool',
        'metadata:',
        '  name: pool',
        'spec:',
        '  nodeSelector: {}',
      ),
      'f.yaml',
    );
    expect(load.problems.map(formatProblem)).toEqual([
      'f.yaml:5:1: ExternalIPPool/pool spec.ipRanges: required field is missing',
    ]);
  });
});
