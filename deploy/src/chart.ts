import { Document, isMap, isScalar, type YAMLMap } from 'yaml';
import { crdFiles } from './crd-files.ts';
import { copiedHeader, generatedHeader } from './generated-header.ts';
import { marker, markerValues, toTemplate } from './template-markers.ts';
import { appVersion, defaultValues, valueDocs } from './values.ts';
import { appName, workloadObjects } from './workload.ts';

/**
 * deploy/helm/egressgw/: Chart.yaml, values.yaml (the defaults, documented),
 * values.schema.json (Helm checks user values against it), templates/ (the workload with
 * placeholders, template-markers.ts) and crds/ (copies of deploy/crds/, which Helm
 * installs before the templates and never templates). Keys are paths inside the chart.
 */
export function chartFiles(): Map<string, string> {
  const files = new Map<string, string>();
  files.set('Chart.yaml', generatedHeader + chartYaml());
  files.set('values.yaml', generatedHeader + valuesYaml());
  files.set('values.schema.json', `${JSON.stringify(valuesSchema, null, 2)}\n`);
  const { values, kinds } = markerValues(defaultValues);
  for (const { file, object } of workloadObjects(values, marker('Release.Namespace'))) {
    files.set(`templates/${file}.yaml`, `${generatedHeader}${toTemplate(object, kinds)}`);
  }
  for (const crd of crdFiles()) {
    files.set(`crds/${crd.name}`, copiedHeader(`deploy/crds/${crd.name}`) + crd.text);
  }
  return files;
}

function chartYaml(): string {
  const doc = new Document({
    apiVersion: 'v2',
    name: appName,
    description:
      'Kubernetes egress gateway with a userspace WebAssembly dataplane (Deckhouse and Antrea egress APIs).',
    type: 'application',
    version: appVersion,
    appVersion,
    // Pod Security admission labels (1.25) and events.k8s.io/v1 are relied on.
    kubeVersion: '>=1.25.0-0',
  });
  return doc.toString();
}

function valuesYaml(): string {
  const doc = new Document(defaultValues);
  const annotate = (map: YAMLMap, prefix: string) => {
    for (const pair of map.items) {
      if (!isScalar(pair.key)) continue;
      const path = prefix === '' ? String(pair.key.value) : `${prefix}.${String(pair.key.value)}`;
      const docLine = valueDocs[path];
      if (docLine !== undefined) pair.key.commentBefore = ` ${docLine}`;
      if (isMap(pair.value) && !['resources', 'nodeSelector'].includes(path)) {
        annotate(pair.value, path);
      }
    }
  };
  if (isMap(doc.contents)) annotate(doc.contents, '');
  return doc.toString({ lineWidth: 0 });
}

/** Strings that the templates print inside other text: no quote or backslash. */
const embeddable = { type: 'string', minLength: 1, pattern: '^[^"\\\\\\s]+$' };
const port = { type: 'integer', minimum: 1, maximum: 65535 };
const quantity = {
  anyOf: [
    { type: 'string', pattern: '^[0-9]+(\\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$' },
    { type: 'number', minimum: 0 },
  ],
};

/** Powers of two from 2^10 to 2^24: the core's flow table capacity must be one. */
const flowCapacities = Array.from({ length: 15 }, (_, i) => 2 ** (i + 10));

export const valuesSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  type: 'object',
  additionalProperties: false,
  required: ['image', 'agent', 'resources', 'nodeSelector', 'tolerations', 'priorityClassName'],
  properties: {
    // Helm passes `global` to every chart.
    global: { type: 'object' },
    image: {
      type: 'object',
      additionalProperties: false,
      required: ['repository', 'tag', 'pullPolicy'],
      properties: {
        repository: embeddable,
        tag: embeddable,
        pullPolicy: { enum: ['Always', 'IfNotPresent', 'Never'] },
      },
    },
    agent: {
      type: 'object',
      additionalProperties: false,
      required: [
        'logLevel',
        'metricsPort',
        'heartbeatPort',
        'tunName',
        'maxFlows',
        'uplink',
        'announceInterfaces',
        'clusterCIDRs',
        'tunnelPort',
        'tunnelVNI',
        'whenNoGateway',
      ],
      properties: {
        logLevel: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] },
        metricsPort: port,
        heartbeatPort: port,
        // Linux interface names: at most 15 bytes (IFNAMSIZ 16 with the NUL).
        tunName: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,15}$' },
        maxFlows: { enum: flowCapacities },
        uplink: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,15}$' },
        announceInterfaces: {
          type: 'string',
          pattern: '^([A-Za-z0-9_.-]{1,15}(,[A-Za-z0-9_.-]{1,15})*)?$',
        },
        clusterCIDRs: {
          type: 'string',
          pattern: '^[0-9./]+(,[0-9./]+)*$',
        },
        tunnelPort: port,
        tunnelVNI: { type: 'integer', minimum: 1, maximum: 16777215 },
        whenNoGateway: { enum: ['drop', 'node-address'] },
      },
    },
    resources: {
      type: 'object',
      additionalProperties: false,
      properties: {
        requests: { type: 'object', additionalProperties: quantity },
        limits: { type: 'object', additionalProperties: quantity },
      },
    },
    nodeSelector: { type: 'object', additionalProperties: { type: 'string' } },
    tolerations: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        properties: {
          key: { type: 'string' },
          operator: { enum: ['Exists', 'Equal'] },
          value: { type: 'string' },
          effect: { enum: ['NoSchedule', 'PreferNoSchedule', 'NoExecute'] },
          tolerationSeconds: { type: 'integer' },
        },
      },
    },
    priorityClassName: { type: 'string' },
  },
};
