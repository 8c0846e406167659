import { Document, isMap, isScalar, parseDocument, type YAMLMap } from 'yaml';
import { antreaGroup, type CrdFile, crdFiles } from './crd-files.ts';
import { copiedHeader, generatedHeader } from './generated-header.ts';
import { marker, markerValues, toTemplate, type ValueKind } from './template-markers.ts';
import { appVersion, defaultValues, type Values, valueDocs } from './values.ts';
import { appName, heartbeatSecret, heartbeatSecretKey, workloadObjects } from './workload.ts';

/**
 * deploy/helm/egressgw/: Chart.yaml, values.yaml (the defaults, documented),
 * values.schema.json (Helm checks user values against it), templates/ (the workload with
 * placeholders, template-markers.ts; the heartbeat Secret; the Antrea CRDs) and crds/
 * (copies of the other CRDs of deploy/crds/, which Helm installs before the templates and
 * never templates). Keys are paths inside the chart.
 *
 * Helm's crds/ cannot be switched off by a value (only by --skip-crds, for all of them),
 * so the Antrea CRDs, which clash with a real Antrea install, are templates behind
 * `crds.antrea`. Helm applies CustomResourceDefinition templates before the other kinds.
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
  files.set(
    'templates/heartbeat-secret.yaml',
    onlyIf('heartbeat.create', heartbeatSecretTemplate(values, kinds)),
  );
  for (const crd of crdFiles()) {
    if (crd.group === antreaGroup) {
      files.set(`templates/crd-${crd.name}`, onlyIf('crds.antrea', antreaCrdTemplate(crd)));
    } else {
      files.set(`crds/${crd.name}`, copiedHeader(`deploy/crds/${crd.name}`) + crd.text);
    }
  }
  return files;
}

/**
 * A template rendered only when the value at `path` is true. The condition comes first, so
 * that a template switched off renders to nothing at all, not to a comment-only document.
 */
function onlyIf(path: string, body: string): string {
  return `{{- if .Values.${path} }}\n${generatedHeader}${body}{{- end }}\n`;
}

/** Stands for the key's Go expression while the Secret passes through toTemplate(). */
const keyToken = 'EGWHEARTBEATKEY';

/**
 * The heartbeat Secret (made only when `heartbeat.create` is true). On upgrades `lookup`
 * finds the Secret and its key is reused, so agents that keep running and agents that
 * restart agree; on install (and with `helm template`, where lookup finds nothing) a new
 * key of 48 random letters and digits (~285 bits) is made.
 */
function heartbeatSecretTemplate(values: Values, kinds: ReadonlyMap<string, ValueKind>): string {
  const object = toTemplate(heartbeatSecret(values, marker('Release.Namespace'), keyToken), kinds);
  const keyLine = `  ${heartbeatSecretKey}: ${keyToken}\n`;
  if (object.split(keyToken).length !== 2 || !object.includes(keyLine)) {
    throw new Error(`heartbeat Secret template: expected one line ${JSON.stringify(keyLine)}`);
  }
  const key = `{{ dig "data" "${heartbeatSecretKey}" (randAlphaNum 48 | b64enc) $existing | quote }}`;
  return (
    '{{- $existing := lookup "v1" "Secret" .Release.Namespace .Values.heartbeat.secretName }}\n' +
    object.replace(keyLine, `  ${heartbeatSecretKey}: ${key}\n`)
  );
}

/**
 * An Antrea CRD (installed only when `crds.antrea` is true). `helm.sh/resource-policy:
 * keep` leaves it in place on uninstall and when the value is turned off: deleting a CRD
 * deletes every Egress and ExternalIPPool in the cluster.
 */
function antreaCrdTemplate(crd: CrdFile): string {
  if (crd.text.includes('{{')) throw new Error(`deploy/crds/${crd.name} holds template text`);
  const doc = parseDocument(crd.text);
  doc.setIn(['metadata', 'annotations', 'helm.sh/resource-policy'], 'keep');
  return doc.toString({ lineWidth: 0 });
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
  required: [
    'image',
    'agent',
    'heartbeat',
    'crds',
    'resources',
    'nodeSelector',
    'tolerations',
    'priorityClassName',
  ],
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
    heartbeat: {
      type: 'object',
      additionalProperties: false,
      required: ['create', 'secretName'],
      properties: {
        create: { type: 'boolean' },
        // A Secret's name: a DNS-1123 subdomain.
        secretName: {
          type: 'string',
          maxLength: 253,
          pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$',
        },
      },
    },
    crds: {
      type: 'object',
      additionalProperties: false,
      required: ['antrea'],
      properties: { antrea: { type: 'boolean' } },
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
