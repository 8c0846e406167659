import { describe, expect, it } from 'vitest';
import { agentArgs, agentFlagNames } from './agent-flags.ts';
import { agentApiAccess, grants } from './api-access.ts';
import { allows, policyRules } from './rbac.ts';
import { defaultNamespace, defaultValues } from './values.ts';
import { workloadObjects } from './workload.ts';

// biome-ignore lint/suspicious/noExplicitAny: manifests are untyped YAML; each case reaches into a different nested field
type Json = any;

const objects = workloadObjects(defaultValues, defaultNamespace).map((o) => o.object);
const byKind = (kind: string) => objects.find((o) => o.kind === kind) as Json;
const pod = byKind('DaemonSet').spec.template.spec;
const agent = pod.containers[0];

describe('the agent DaemonSet', () => {
  it('runs on the host network with NET_ADMIN and NET_RAW only, never privileged', () => {
    expect(pod.hostNetwork).toBe(true);
    expect(agent.securityContext.privileged).toBe(false);
    expect(agent.securityContext.allowPrivilegeEscalation).toBe(false);
    expect(agent.securityContext.capabilities).toEqual({
      drop: ['ALL'],
      add: ['NET_ADMIN', 'NET_RAW'],
    });
    expect(pod.hostPID).toBeUndefined();
    expect(pod.hostIPC).toBeUndefined();
  });

  it('gets /dev/net/tun as a character device', () => {
    const tun = pod.volumes.find((v: Json) => v.hostPath?.path === '/dev/net/tun');
    expect(tun.hostPath.type).toBe('CharDevice');
    expect(agent.volumeMounts).toContainEqual({ name: tun.name, mountPath: '/dev/net/tun' });
  });

  it('probes /healthz for liveness and /readyz for readiness on the metrics port', () => {
    expect(agent.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(agent.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
    expect(agent.ports).toContainEqual({
      name: 'metrics',
      containerPort: defaultValues.agent.metricsPort,
      protocol: 'TCP',
    });
  });

  it('learns its node and namespace from the downward API and passes them as flags', () => {
    expect(agent.env).toContainEqual({
      name: 'NODE_NAME',
      valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } },
    });
    expect(agent.env).toContainEqual({
      name: 'POD_NAMESPACE',
      valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } },
    });
    expect(agent.args).toContain('--node-name=$(NODE_NAME)');
    expect(agent.args).toContain('--namespace=$(POD_NAMESPACE)');
    expect(agent.env).toContainEqual({
      name: 'NODE_IP',
      valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } },
    });
    expect(agent.args).toContain('--metrics-host=$(NODE_IP)');
  });

  it('passes every agent flag exactly once', () => {
    const names = agentArgs(defaultValues).map((a) => /^--([a-z-]+)=/.exec(a)![1]);
    expect(names).toEqual([...agentFlagNames]);
    expect(agent.args).toEqual(agentArgs(defaultValues));
  });

  it('requests resources and sets no CPU limit', () => {
    expect(agent.resources.requests.cpu).toBeDefined();
    expect(agent.resources.requests.memory).toBeDefined();
    expect(agent.resources.limits.cpu).toBeUndefined();
  });

  it('selects the pods its template labels', () => {
    const ds = byKind('DaemonSet');
    expect(ds.spec.template.metadata.labels).toMatchObject(ds.spec.selector.matchLabels);
    expect(pod.serviceAccountName).toBe(byKind('ServiceAccount').metadata.name);
  });
});

describe('RBAC', () => {
  const clusterRules = byKind('ClusterRole').rules;
  const roleRules = byKind('Role').rules;

  it('grants exactly the access list, split by scope, with no wildcards', () => {
    expect(clusterRules).toEqual(policyRules(agentApiAccess, 'cluster'));
    expect(roleRules).toEqual(policyRules(agentApiAccess, 'own'));
    for (const rule of [...clusterRules, ...roleRules]) {
      expect(rule.apiGroups).not.toContain('*');
      expect(rule.resources).not.toContain('*');
      expect(rule.verbs).not.toContain('*');
    }
    for (const entry of agentApiAccess) {
      const rules = entry.scope === 'cluster' ? clusterRules : roleRules;
      for (const verb of entry.verbs) {
        expect(allows(rules, entry.group, entry.resource, verb)).toBe(true);
      }
    }
    const granted = (rules: Json[]) =>
      rules.reduce((n, r) => n + r.apiGroups.length * r.resources.length * r.verbs.length, 0);
    const listed = agentApiAccess.reduce((n, e) => n + e.verbs.length, 0);
    expect(granted(clusterRules) + granted(roleRules)).toBe(listed);
  });

  it('reads nodes, pods, namespaces and the four CRD kinds, and writes only their status', () => {
    for (const [group, resource] of [
      ['', 'nodes'],
      ['', 'pods'],
      ['', 'namespaces'],
      ['network.deckhouse.io', 'egressgateways'],
      ['network.deckhouse.io', 'egressgatewaypolicies'],
      ['crd.antrea.io', 'egresses'],
      ['crd.antrea.io', 'externalippools'],
    ] as const) {
      for (const verb of ['get', 'list', 'watch'] as const) {
        expect(allows(clusterRules, group, resource, verb), `${resource} ${verb}`).toBe(true);
      }
      for (const verb of ['create', 'update', 'patch'] as const) {
        // Nodes alone may be patched: each agent publishes its own interfaces annotation.
        const allowed = resource === 'nodes' && verb === 'patch';
        expect(allows(clusterRules, group, resource, verb), `${resource} ${verb}`).toBe(allowed);
      }
    }
    expect(allows(clusterRules, 'crd.antrea.io', 'egresses/status', 'patch')).toBe(true);
    expect(allows(clusterRules, 'crd.antrea.io', 'egresses/status', 'get')).toBe(false);
  });

  it('holds Leases only in its own namespace, and never deletes anything', () => {
    expect(allows(clusterRules, 'coordination.k8s.io', 'leases', 'get')).toBe(false);
    for (const verb of ['get', 'create', 'update'] as const) {
      expect(allows(roleRules, 'coordination.k8s.io', 'leases', verb)).toBe(true);
    }
    const req = { group: 'coordination.k8s.io', resource: 'leases', verb: 'update' } as const;
    expect(grants(agentApiAccess, { ...req, namespace: 'egressgw' }, 'egressgw')).toBe(true);
    expect(grants(agentApiAccess, { ...req, namespace: 'kube-system' }, 'egressgw')).toBe(false);
    expect(
      grants(
        agentApiAccess,
        { group: 'crd.antrea.io', resource: 'egresses', subresource: 'status', verb: 'patch' },
        'egressgw',
      ),
    ).toBe(true);
    for (const rule of [...clusterRules, ...roleRules]) {
      expect(rule.verbs).not.toContain('delete');
    }
  });

  it('binds both roles to the agent service account in its namespace', () => {
    const subject = { kind: 'ServiceAccount', name: 'egressgw', namespace: defaultNamespace };
    expect(byKind('ClusterRoleBinding').subjects).toEqual([subject]);
    expect(byKind('RoleBinding').subjects).toEqual([subject]);
    expect(byKind('ClusterRoleBinding').roleRef.name).toBe(byKind('ClusterRole').metadata.name);
    expect(byKind('RoleBinding').roleRef.name).toBe(byKind('Role').metadata.name);
  });
});
