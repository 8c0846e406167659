import { describe, expect, it } from 'vitest';
import { createKindValidator, type SchemaCheck } from './k8s-schemas.ts';
import { manifestObjects, renderChart } from './load.ts';

// biome-ignore lint/suspicious/noExplicitAny: manifests are untyped YAML; each case reaches into a different nested field
type Json = any;

const validate = createKindValidator();

/** The check failed, and for the reason meant: its errors mention `mention`. */
function expectRejected(result: SchemaCheck, mention: string): void {
  expect(result.ok).toBe(false);
  expect(result.errors.join('\n')).toContain(mention);
}

const committed = [...manifestObjects().values()].flat();

function daemonSet(): Record<string, unknown> {
  const ds = committed.find((o) => o['kind'] === 'DaemonSet');
  return structuredClone(ds!);
}

/** The DaemonSet with one change made by `edit`, then validated. */
function editedDaemonSet(edit: (pod: Json, container: Json, ds: Json) => void) {
  const ds = daemonSet() as Json;
  edit(ds.spec.template.spec, ds.spec.template.spec.containers[0], ds);
  return validate(ds);
}

describe('Kubernetes schemas', () => {
  it('accept every committed manifest, CRDs included', () => {
    let count = 0;
    const kinds = new Set<string>();
    for (const [file, docs] of manifestObjects()) {
      for (const doc of docs) {
        const result = validate(doc);
        expect(result.errors, file).toEqual([]);
        kinds.add(String(doc['kind']));
        count++;
      }
    }
    expect(kinds).toEqual(
      new Set([
        'Namespace',
        'CustomResourceDefinition',
        'ServiceAccount',
        'ClusterRole',
        'ClusterRoleBinding',
        'Role',
        'RoleBinding',
        'DaemonSet',
      ]),
    );
    expect(count).toBe(11);
  });

  it('accept every object the chart renders', () => {
    for (const [file, docs] of renderChart()) {
      for (const doc of docs) expect(validate(doc).errors, file).toEqual([]);
    }
  });

  it('catch a misspelt field anywhere in the pod', () => {
    expectRejected(
      editedDaemonSet((pod) => {
        pod.hostNetwrok = true;
      }),
      'hostNetwrok',
    );
    expectRejected(
      editedDaemonSet((_, c) => {
        c.volumeMount = c.volumeMounts;
      }),
      'volumeMount"',
    );
    expectRejected(
      editedDaemonSet((_, c) => {
        c.securityContext.capabilities.adds = ['NET_RAW'];
      }),
      'adds',
    );
    expectRejected(
      editedDaemonSet((_, c) => {
        c.livenessProbe.httpGet.paht = '/healthz';
      }),
      'paht',
    );
  });

  it('catch values outside the enums', () => {
    expectRejected(
      editedDaemonSet((pod) => {
        pod.volumes[0].hostPath.type = 'Chardevice';
      }),
      '/volumes/0/hostPath/type',
    );
    expectRejected(
      editedDaemonSet((_, c) => {
        c.securityContext.capabilities.add = ['CAP_NET_ADMINS'];
      }),
      '/capabilities/add/0',
    );
    expectRejected(
      editedDaemonSet((_, c) => {
        c.securityContext.capabilities.add = ['ALL'];
      }),
      '/capabilities/add/0',
    );
    expectRejected(
      editedDaemonSet((_, c) => {
        c.ports[1].protocol = 'udp';
      }),
      '/ports/1/protocol',
    );
    expectRejected(
      editedDaemonSet((pod) => {
        pod.dnsPolicy = 'ClusterFirstWithHostNetwork';
      }),
      '/dnsPolicy',
    );
    expectRejected(
      editedDaemonSet((_, c) => {
        c.imagePullPolicy = 'IfMissing';
      }),
      '/imagePullPolicy',
    );
  });

  it('catch missing required fields and wrong types', () => {
    expectRejected(
      editedDaemonSet((_, c) => {
        delete c.name;
      }),
      '"missingProperty":"name"',
    );
    expectRejected(
      editedDaemonSet((_, _c, ds) => {
        delete ds.spec.selector;
      }),
      '"missingProperty":"selector"',
    );
    expectRejected(
      editedDaemonSet((_, c) => {
        c.ports[0].containerPort = '9471';
      }),
      '/ports/0/containerPort',
    );
    expectRejected(
      editedDaemonSet((pod) => {
        pod.hostNetwork = 'true';
      }),
      '/hostNetwork',
    );
    expectRejected(
      editedDaemonSet((_, c) => {
        c.resources.limits.memory = '512 MiB';
      }),
      '/resources/limits/memory',
    );
    expectRejected(
      editedDaemonSet((pod) => {
        pod.volumes[1] = { name: 'tmp' };
      }),
      '/volumes/1',
    );
    expectRejected(
      editedDaemonSet((_, c) => {
        c.env[0].valueFrom = {};
      }),
      '/env/0/valueFrom',
    );
    expectRejected(
      editedDaemonSet((_, _c, ds) => {
        delete ds.metadata.namespace;
      }),
      '"missingProperty":"namespace"',
    );
  });

  it('catch RBAC mistakes', () => {
    const objects = committed;
    const role = structuredClone(objects.find((o) => o['kind'] === 'ClusterRole')!) as Json;
    role.rules[0].verbs.push('read');
    expectRejected(validate(role), `/rules/0/verbs/${role.rules[0].verbs.length - 1}`);
    const binding = structuredClone(
      objects.find((o) => o['kind'] === 'ClusterRoleBinding')!,
    ) as Json;
    delete binding.subjects[0].namespace;
    expectRejected(validate(binding), '"missingProperty":"namespace"');
    const binding2 = structuredClone(objects.find((o) => o['kind'] === 'RoleBinding')!) as Json;
    delete binding2.roleRef.apiGroup;
    expectRejected(validate(binding2), '"missingProperty":"apiGroup"');
  });

  it('catch CRD schema keywords the apiserver refuses', () => {
    const crd = structuredClone(
      committed.find((o) => o['kind'] === 'CustomResourceDefinition')!,
    ) as Json;
    const ok = validate(crd);
    expect(ok.ok).toBe(true);
    crd.spec.versions[0].schema.openAPIV3Schema.properties.spec.$ref = '#/x';
    expectRejected(validate(crd), '"additionalProperty":"$ref"');
    delete crd.spec.versions[0].schema.openAPIV3Schema.properties.spec.$ref;
    crd.spec.versions[0].schema.openAPIV3Schema.properties.spec.type = 'map';
    expectRejected(validate(crd), '/openAPIV3Schema/properties/spec/type');
    crd.spec.versions[0].schema.openAPIV3Schema.properties.spec.type = 'object';
    crd.spec.scope = 'Namespace';
    expectRejected(validate(crd), '/spec/scope');
  });

  it('refuses kinds it has no schema for', () => {
    expect(validate({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' } }).errors).toEqual([
      'no schema for v1/Pod',
    ]);
  });
});
