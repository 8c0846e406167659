import { Ajv, type ValidateFunction } from 'ajv';

/**
 * JSON schemas for the Kubernetes kinds deploy/ generates, transcribed from the
 * Kubernetes API reference (OpenAPI v3, release 1.36, as in @kubernetes/client-node's
 * generated models). No schema package is available, so this covers the types our
 * objects use: every field of those types is listed (additionalProperties false, so a
 * misspelt field fails), fields we use get their exact types, enums and required lists,
 * and fields we do not use are typed only as object/array/string/etc.
 *
 * A few rules that the apiserver enforces outside the OpenAPI document are added where a
 * mistake would otherwise pass: DNS-1123 names, label syntax, IANA port names, the
 * quantity grammar, "exactly one volume source", Linux capability names, and the CRD
 * restrictions on JSON schema keywords ($ref, definitions, … are refused).
 * Stricter than the API on purpose: apiVersion, kind, metadata.name are required.
 */

const dns1123Label = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
const dns1123Subdomain = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
/** Qualified name with optional DNS-subdomain prefix (label and annotation keys). */
const qualifiedName =
  '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$';
const labelValue = '^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$';
/** resource.Quantity: signed number, then a binary/decimal SI suffix or an exponent. */
const quantityPattern =
  '^[+-]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$';

/** capabilities(7), without the CAP_ prefix (the form Kubernetes documents). */
export const linuxCapabilities = [
  'CHOWN',
  'DAC_OVERRIDE',
  'DAC_READ_SEARCH',
  'FOWNER',
  'FSETID',
  'KILL',
  'SETGID',
  'SETUID',
  'SETPCAP',
  'LINUX_IMMUTABLE',
  'NET_BIND_SERVICE',
  'NET_BROADCAST',
  'NET_ADMIN',
  'NET_RAW',
  'IPC_LOCK',
  'IPC_OWNER',
  'SYS_MODULE',
  'SYS_RAWIO',
  'SYS_CHROOT',
  'SYS_PTRACE',
  'SYS_PACCT',
  'SYS_ADMIN',
  'SYS_BOOT',
  'SYS_NICE',
  'SYS_RESOURCE',
  'SYS_TIME',
  'SYS_TTY_CONFIG',
  'MKNOD',
  'LEASE',
  'AUDIT_WRITE',
  'AUDIT_CONTROL',
  'SETFCAP',
  'MAC_OVERRIDE',
  'MAC_ADMIN',
  'SYSLOG',
  'WAKE_ALARM',
  'BLOCK_SUSPEND',
  'AUDIT_READ',
  'PERFMON',
  'BPF',
  'CHECKPOINT_RESTORE',
];

const str = { type: 'string' };
const bool = { type: 'boolean' };
const int = { type: 'integer' };
const obj = { type: 'object' };
const arr = { type: 'array' };
const strings = { type: 'array', items: str };
const ref = (name: string) => ({ $ref: `#/definitions/${name}` });
const arrayOf = (name: string) => ({ type: 'array', items: ref(name) });
const stringMap = { type: 'object', additionalProperties: str };

function strict(properties: Record<string, unknown>, required: string[] = []) {
  return { type: 'object', additionalProperties: false, properties, required };
}

const objectMetaProperties = {
  annotations: ref('Annotations'),
  creationTimestamp: str,
  deletionGracePeriodSeconds: int,
  deletionTimestamp: str,
  finalizers: strings,
  generateName: str,
  generation: int,
  labels: ref('Labels'),
  managedFields: arr,
  name: { type: 'string', pattern: dns1123Subdomain, maxLength: 253 },
  namespace: { type: 'string', pattern: dns1123Label, maxLength: 63 },
  ownerReferences: arr,
  resourceVersion: str,
  selfLink: str,
  uid: str,
};

const definitions: Record<string, unknown> = {
  Labels: {
    type: 'object',
    propertyNames: { pattern: qualifiedName, maxLength: 316 },
    additionalProperties: { type: 'string', pattern: labelValue, maxLength: 63 },
  },
  Annotations: {
    type: 'object',
    propertyNames: { pattern: qualifiedName },
    additionalProperties: str,
  },
  ObjectMeta: strict(objectMetaProperties, ['name']),
  /** A pod template's metadata: the name comes from the owner. */
  TemplateMeta: strict(objectMetaProperties),
  Quantity: {
    anyOf: [{ type: 'string', pattern: quantityPattern }, { type: 'number' }],
  },
  /** IntOrString used as a port: a number, or an IANA_SVC_NAME naming a container port. */
  Port: {
    anyOf: [
      { type: 'integer', minimum: 1, maximum: 65535 },
      { type: 'string', maxLength: 15, pattern: '^(?=.*[a-z])[a-z0-9]([a-z0-9-]*[a-z0-9])?$' },
    ],
  },
  /** IntOrString used as a count: a number or a percentage. */
  IntOrPercent: {
    anyOf: [
      { type: 'integer', minimum: 0 },
      { type: 'string', pattern: '^[0-9]+%$' },
    ],
  },
  LabelSelectorRequirement: strict(
    {
      key: { type: 'string', pattern: qualifiedName },
      operator: { enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'] },
      values: strings,
    },
    ['key', 'operator'],
  ),
  LabelSelector: strict({
    matchExpressions: arrayOf('LabelSelectorRequirement'),
    matchLabels: ref('Labels'),
  }),
  ObjectFieldSelector: strict({ apiVersion: str, fieldPath: str }, ['fieldPath']),
  EnvVarSource: {
    ...strict({
      configMapKeyRef: obj,
      fieldRef: ref('ObjectFieldSelector'),
      fileKeyRef: obj,
      resourceFieldRef: obj,
      secretKeyRef: obj,
    }),
    minProperties: 1,
    maxProperties: 1,
  },
  EnvVar: {
    ...strict(
      {
        name: { type: 'string', minLength: 1 },
        value: str,
        valueFrom: ref('EnvVarSource'),
      },
      ['name'],
    ),
    not: { required: ['value', 'valueFrom'] },
  },
  ContainerPort: strict(
    {
      containerPort: { type: 'integer', minimum: 1, maximum: 65535 },
      hostIP: str,
      hostPort: { type: 'integer', minimum: 1, maximum: 65535 },
      name: {
        type: 'string',
        maxLength: 15,
        pattern: '^(?=.*[a-z])[a-z0-9]([a-z0-9-]*[a-z0-9])?$',
      },
      protocol: { enum: ['TCP', 'UDP', 'SCTP'] },
    },
    ['containerPort'],
  ),
  HTTPHeader: strict({ name: str, value: str }, ['name', 'value']),
  HTTPGetAction: strict(
    {
      host: str,
      httpHeaders: arrayOf('HTTPHeader'),
      path: { type: 'string', pattern: '^/' },
      port: ref('Port'),
      scheme: { enum: ['HTTP', 'HTTPS'] },
    },
    ['port'],
  ),
  Probe: {
    ...strict({
      exec: obj,
      failureThreshold: { type: 'integer', minimum: 1 },
      grpc: obj,
      httpGet: ref('HTTPGetAction'),
      initialDelaySeconds: { type: 'integer', minimum: 0 },
      periodSeconds: { type: 'integer', minimum: 1 },
      successThreshold: { type: 'integer', minimum: 1 },
      tcpSocket: obj,
      terminationGracePeriodSeconds: { type: 'integer', minimum: 1 },
      timeoutSeconds: { type: 'integer', minimum: 1 },
    }),
    // Exactly one handler.
    oneOf: [
      { required: ['exec'] },
      { required: ['grpc'] },
      { required: ['httpGet'] },
      { required: ['tcpSocket'] },
    ],
  },
  ResourceRequirements: strict({
    claims: arr,
    limits: { type: 'object', additionalProperties: ref('Quantity') },
    requests: { type: 'object', additionalProperties: ref('Quantity') },
  }),
  Capabilities: strict({
    add: { type: 'array', items: { enum: linuxCapabilities }, uniqueItems: true },
    drop: { type: 'array', items: { enum: [...linuxCapabilities, 'ALL'] }, uniqueItems: true },
  }),
  SeccompProfile: strict(
    { localhostProfile: str, type: { enum: ['Localhost', 'RuntimeDefault', 'Unconfined'] } },
    ['type'],
  ),
  SecurityContext: strict({
    allowPrivilegeEscalation: bool,
    appArmorProfile: obj,
    capabilities: ref('Capabilities'),
    privileged: bool,
    procMount: { enum: ['Default', 'Unmasked'] },
    readOnlyRootFilesystem: bool,
    runAsGroup: { type: 'integer', minimum: 0 },
    runAsNonRoot: bool,
    runAsUser: { type: 'integer', minimum: 0 },
    seLinuxOptions: obj,
    seccompProfile: ref('SeccompProfile'),
    windowsOptions: obj,
  }),
  VolumeMount: strict(
    {
      mountPath: { type: 'string', pattern: '^/' },
      mountPropagation: { enum: ['None', 'HostToContainer', 'Bidirectional'] },
      name: { type: 'string', pattern: dns1123Label, maxLength: 63 },
      readOnly: bool,
      recursiveReadOnly: { enum: ['Disabled', 'IfPossible', 'Enabled'] },
      subPath: str,
      subPathExpr: str,
    },
    ['mountPath', 'name'],
  ),
  Container: strict(
    {
      args: strings,
      command: strings,
      env: arrayOf('EnvVar'),
      envFrom: arr,
      image: { type: 'string', minLength: 1 },
      imagePullPolicy: { enum: ['Always', 'IfNotPresent', 'Never'] },
      lifecycle: obj,
      livenessProbe: ref('Probe'),
      name: { type: 'string', pattern: dns1123Label, maxLength: 63 },
      ports: arrayOf('ContainerPort'),
      readinessProbe: ref('Probe'),
      resizePolicy: arr,
      resources: ref('ResourceRequirements'),
      restartPolicy: { enum: ['Always'] },
      restartPolicyRules: arr,
      securityContext: ref('SecurityContext'),
      startupProbe: ref('Probe'),
      stdin: bool,
      stdinOnce: bool,
      terminationMessagePath: str,
      terminationMessagePolicy: { enum: ['File', 'FallbackToLogsOnError'] },
      tty: bool,
      volumeDevices: arr,
      volumeMounts: arrayOf('VolumeMount'),
      workingDir: str,
    },
    ['name'],
  ),
  HostPathVolumeSource: strict(
    {
      path: { type: 'string', pattern: '^/' },
      type: {
        enum: [
          '',
          'DirectoryOrCreate',
          'Directory',
          'FileOrCreate',
          'File',
          'Socket',
          'CharDevice',
          'BlockDevice',
        ],
      },
    },
    ['path'],
  ),
  EmptyDirVolumeSource: strict({ medium: { enum: ['', 'Memory'] }, sizeLimit: ref('Quantity') }),
  Volume: {
    ...strict(
      {
        name: { type: 'string', pattern: dns1123Label, maxLength: 63 },
        awsElasticBlockStore: obj,
        azureDisk: obj,
        azureFile: obj,
        cephfs: obj,
        cinder: obj,
        configMap: obj,
        csi: obj,
        downwardAPI: obj,
        emptyDir: ref('EmptyDirVolumeSource'),
        ephemeral: obj,
        fc: obj,
        flexVolume: obj,
        flocker: obj,
        gcePersistentDisk: obj,
        gitRepo: obj,
        glusterfs: obj,
        hostPath: ref('HostPathVolumeSource'),
        image: obj,
        iscsi: obj,
        nfs: obj,
        persistentVolumeClaim: obj,
        photonPersistentDisk: obj,
        portworxVolume: obj,
        projected: obj,
        quobyte: obj,
        rbd: obj,
        scaleIO: obj,
        secret: obj,
        storageos: obj,
        vsphereVolume: obj,
      },
      ['name'],
    ),
    // The name and exactly one volume source.
    minProperties: 2,
    maxProperties: 2,
  },
  Toleration: strict({
    effect: { enum: ['NoSchedule', 'PreferNoSchedule', 'NoExecute'] },
    key: str,
    operator: { enum: ['Equal', 'Exists', 'Lt', 'Gt'] },
    tolerationSeconds: int,
    value: str,
  }),
  PodSpec: strict(
    {
      activeDeadlineSeconds: int,
      affinity: obj,
      automountServiceAccountToken: bool,
      containers: { type: 'array', minItems: 1, items: ref('Container') },
      dnsConfig: obj,
      dnsPolicy: { enum: ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None'] },
      enableServiceLinks: bool,
      ephemeralContainers: arr,
      hostAliases: arr,
      hostIPC: bool,
      hostNetwork: bool,
      hostPID: bool,
      hostUsers: bool,
      hostname: str,
      hostnameOverride: str,
      imagePullSecrets: arr,
      initContainers: arrayOf('Container'),
      nodeName: str,
      nodeSelector: stringMap,
      os: obj,
      overhead: obj,
      preemptionPolicy: { enum: ['Never', 'PreemptLowerPriority'] },
      priority: int,
      priorityClassName: str,
      readinessGates: arr,
      resourceClaims: arr,
      resources: ref('ResourceRequirements'),
      restartPolicy: { enum: ['Always', 'OnFailure', 'Never'] },
      runtimeClassName: str,
      schedulerName: str,
      schedulingGates: arr,
      schedulingGroup: obj,
      securityContext: obj,
      serviceAccount: str,
      serviceAccountName: { type: 'string', pattern: dns1123Subdomain },
      setHostnameAsFQDN: bool,
      shareProcessNamespace: bool,
      subdomain: str,
      terminationGracePeriodSeconds: { type: 'integer', minimum: 0 },
      tolerations: arrayOf('Toleration'),
      topologySpreadConstraints: arr,
      volumes: arrayOf('Volume'),
    },
    ['containers'],
  ),
  PodTemplateSpec: strict({ metadata: ref('TemplateMeta'), spec: ref('PodSpec') }),
  DaemonSetSpec: strict(
    {
      minReadySeconds: { type: 'integer', minimum: 0 },
      revisionHistoryLimit: { type: 'integer', minimum: 0 },
      selector: ref('LabelSelector'),
      template: ref('PodTemplateSpec'),
      updateStrategy: strict({
        rollingUpdate: strict({
          maxSurge: ref('IntOrPercent'),
          maxUnavailable: ref('IntOrPercent'),
        }),
        type: { enum: ['OnDelete', 'RollingUpdate'] },
      }),
    },
    ['selector', 'template'],
  ),
  PolicyRule: strict(
    {
      apiGroups: strings,
      nonResourceURLs: strings,
      resourceNames: strings,
      resources: strings,
      verbs: {
        type: 'array',
        minItems: 1,
        items: {
          enum: [
            'get',
            'list',
            'watch',
            'create',
            'update',
            'patch',
            'delete',
            'deletecollection',
            'bind',
            'escalate',
            'impersonate',
            'use',
            'approve',
            'sign',
            '*',
          ],
        },
      },
    },
    ['verbs'],
  ),
  RoleRef: strict(
    {
      apiGroup: { const: 'rbac.authorization.k8s.io' },
      kind: { enum: ['Role', 'ClusterRole'] },
      name: str,
    },
    ['apiGroup', 'kind', 'name'],
  ),
  Subject: {
    ...strict(
      {
        apiGroup: str,
        kind: { enum: ['ServiceAccount', 'User', 'Group'] },
        name: str,
        namespace: str,
      },
      ['kind', 'name'],
    ),
    if: { properties: { kind: { const: 'ServiceAccount' } } },
    // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then keywords
    then: { required: ['namespace'] },
  },
  /** apiextensions.k8s.io/v1 JSONSchemaProps, less the keywords CRDs refuse. */
  JSONSchemaProps: strict({
    additionalProperties: { anyOf: [{ type: 'boolean' }, ref('JSONSchemaProps')] },
    allOf: arrayOf('JSONSchemaProps'),
    anyOf: arrayOf('JSONSchemaProps'),
    default: {},
    description: str,
    enum: arr,
    example: {},
    exclusiveMaximum: bool,
    exclusiveMinimum: bool,
    externalDocs: strict({ description: str, url: str }),
    format: str,
    items: ref('JSONSchemaProps'),
    maxItems: { type: 'integer', minimum: 0 },
    maxLength: { type: 'integer', minimum: 0 },
    maxProperties: { type: 'integer', minimum: 0 },
    maximum: { type: 'number' },
    minItems: { type: 'integer', minimum: 0 },
    minLength: { type: 'integer', minimum: 0 },
    minProperties: { type: 'integer', minimum: 0 },
    minimum: { type: 'number' },
    multipleOf: { type: 'number', exclusiveMinimum: 0 },
    not: ref('JSONSchemaProps'),
    nullable: bool,
    oneOf: arrayOf('JSONSchemaProps'),
    pattern: str,
    properties: { type: 'object', additionalProperties: ref('JSONSchemaProps') },
    required: strings,
    title: str,
    type: { enum: ['object', 'array', 'string', 'integer', 'number', 'boolean'] },
    // CRDs refuse uniqueItems: true (it cannot be checked in linear time).
    uniqueItems: { const: false },
    'x-kubernetes-embedded-resource': bool,
    'x-kubernetes-int-or-string': bool,
    'x-kubernetes-list-map-keys': strings,
    'x-kubernetes-list-type': { enum: ['atomic', 'set', 'map'] },
    'x-kubernetes-map-type': { enum: ['granular', 'atomic'] },
    'x-kubernetes-preserve-unknown-fields': { const: true },
    'x-kubernetes-validations': {
      type: 'array',
      items: strict(
        {
          fieldPath: str,
          message: str,
          messageExpression: str,
          optionalOldSelf: bool,
          reason: {
            enum: [
              'FieldValueInvalid',
              'FieldValueForbidden',
              'FieldValueRequired',
              'FieldValueDuplicate',
            ],
          },
          rule: str,
        },
        ['rule'],
      ),
    },
  }),
  CustomResourceColumnDefinition: strict(
    {
      description: str,
      format: {
        enum: [
          'int32',
          'int64',
          'float',
          'double',
          'byte',
          'date',
          'date-time',
          'password',
          'name',
        ],
      },
      jsonPath: { type: 'string', pattern: '^\\.' },
      name: str,
      priority: { type: 'integer', minimum: 0 },
      type: { enum: ['integer', 'number', 'string', 'boolean', 'date'] },
    },
    ['jsonPath', 'name', 'type'],
  ),
  CustomResourceDefinitionVersion: strict(
    {
      additionalPrinterColumns: arrayOf('CustomResourceColumnDefinition'),
      deprecated: bool,
      deprecationWarning: str,
      name: { type: 'string', pattern: dns1123Label },
      schema: strict({ openAPIV3Schema: ref('JSONSchemaProps') }, ['openAPIV3Schema']),
      selectableFields: { type: 'array', items: strict({ jsonPath: str }, ['jsonPath']) },
      served: bool,
      storage: bool,
      subresources: strict({
        scale: strict({ labelSelectorPath: str, specReplicasPath: str, statusReplicasPath: str }, [
          'specReplicasPath',
          'statusReplicasPath',
        ]),
        // An empty object enables /status.
        status: { type: 'object', maxProperties: 0 },
      }),
    },
    ['name', 'served', 'storage'],
  ),
  CustomResourceDefinitionSpec: strict(
    {
      conversion: strict({ strategy: { enum: ['None', 'Webhook'] }, webhook: obj }, ['strategy']),
      group: { type: 'string', pattern: dns1123Subdomain },
      names: strict(
        {
          categories: strings,
          kind: { type: 'string', pattern: '^[A-Z][A-Za-z0-9]*$' },
          listKind: { type: 'string', pattern: '^[A-Z][A-Za-z0-9]*$' },
          plural: { type: 'string', pattern: dns1123Label },
          shortNames: { type: 'array', items: { type: 'string', pattern: dns1123Label } },
          singular: { type: 'string', pattern: dns1123Label },
        },
        ['kind', 'plural'],
      ),
      preserveUnknownFields: { const: false },
      scope: { enum: ['Cluster', 'Namespaced'] },
      versions: { type: 'array', minItems: 1, items: ref('CustomResourceDefinitionVersion') },
    },
    ['group', 'names', 'scope', 'versions'],
  ),
};

type Scope = 'namespaced' | 'cluster';

/** metadata.namespace must be set on namespaced kinds and absent on cluster-scoped ones. */
const scopeRules: Record<Scope, unknown> = {
  namespaced: {
    type: 'object',
    properties: { metadata: { type: 'object', required: ['namespace'] } },
  },
  cluster: {
    type: 'object',
    properties: { metadata: { type: 'object', not: { type: 'object', required: ['namespace'] } } },
  },
};

function kind(
  apiVersion: string,
  kindName: string,
  scope: Scope,
  properties: Record<string, unknown>,
  required: string[] = [],
) {
  return {
    definitions,
    ...strict(
      {
        apiVersion: { const: apiVersion },
        kind: { const: kindName },
        metadata: ref('ObjectMeta'),
        ...properties,
      },
      ['apiVersion', 'kind', 'metadata', ...required],
    ),
    allOf: [scopeRules[scope]],
  };
}

const rbac = 'rbac.authorization.k8s.io/v1';

/** Schemas by `apiVersion/kind`. */
export const kindSchemas: Record<string, unknown> = {
  'v1/Namespace': kind('v1', 'Namespace', 'cluster', {
    spec: strict({ finalizers: strings }),
    status: obj,
  }),
  'v1/ServiceAccount': kind('v1', 'ServiceAccount', 'namespaced', {
    automountServiceAccountToken: bool,
    imagePullSecrets: arr,
    secrets: arr,
  }),
  'v1/Secret': kind('v1', 'Secret', 'namespaced', {
    // Keys: [-._a-zA-Z0-9]+; values: base64 (standard alphabet, padded).
    data: {
      type: 'object',
      propertyNames: { pattern: '^[-._a-zA-Z0-9]+$' },
      additionalProperties: {
        type: 'string',
        pattern: '^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$',
      },
    },
    stringData: { type: 'object', propertyNames: { pattern: '^[-._a-zA-Z0-9]+$' } },
    immutable: bool,
    type: str,
  }),
  [`${rbac}/ClusterRole`]: kind(rbac, 'ClusterRole', 'cluster', {
    aggregationRule: obj,
    rules: arrayOf('PolicyRule'),
  }),
  [`${rbac}/ClusterRoleBinding`]: kind(
    rbac,
    'ClusterRoleBinding',
    'cluster',
    { roleRef: ref('RoleRef'), subjects: arrayOf('Subject') },
    ['roleRef'],
  ),
  [`${rbac}/Role`]: kind(rbac, 'Role', 'namespaced', { rules: arrayOf('PolicyRule') }),
  [`${rbac}/RoleBinding`]: kind(
    rbac,
    'RoleBinding',
    'namespaced',
    { roleRef: ref('RoleRef'), subjects: arrayOf('Subject') },
    ['roleRef'],
  ),
  'apps/v1/DaemonSet': kind(
    'apps/v1',
    'DaemonSet',
    'namespaced',
    { spec: ref('DaemonSetSpec'), status: obj },
    ['spec'],
  ),
  'apiextensions.k8s.io/v1/CustomResourceDefinition': kind(
    'apiextensions.k8s.io/v1',
    'CustomResourceDefinition',
    'cluster',
    { spec: ref('CustomResourceDefinitionSpec'), status: obj },
    ['spec'],
  ),
};

export interface SchemaCheck {
  ok: boolean;
  errors: string[];
}

export function createKindValidator(): (object: unknown) => SchemaCheck {
  const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false });
  const compiled = new Map<string, ValidateFunction>();
  for (const [key, schema] of Object.entries(kindSchemas)) {
    compiled.set(key, ajv.compile(schema as object));
  }
  return (object) => {
    const o = object as { apiVersion?: unknown; kind?: unknown };
    const key = `${String(o?.apiVersion)}/${String(o?.kind)}`;
    const validate = compiled.get(key);
    if (validate === undefined) return { ok: false, errors: [`no schema for ${key}`] };
    if (validate(object)) return { ok: true, errors: [] };
    return {
      ok: false,
      errors: (validate.errors ?? []).map(
        (e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`,
      ),
    };
  };
}
