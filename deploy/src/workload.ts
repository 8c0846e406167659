import { agentArgs } from './agent-flags.ts';
import { agentApiAccess } from './api-access.ts';
import { policyRules } from './rbac.ts';
import type { Values } from './values.ts';

/**
 * The egressgw workload as Kubernetes objects: the one description both the plain
 * manifests and the Helm chart are generated from. `namespace` is the plain manifests'
 * namespace, or the chart's `.Release.Namespace` (template-markers.ts).
 *
 * Everything here must use the values as given, never compute with them: the chart's
 * templates are made by passing placeholders through this same function.
 */
export type KubeObject = Record<string, unknown> & { apiVersion: string; kind: string };

/** One object and the file stem it is written under. */
export interface WorkloadObject {
  file: string;
  object: KubeObject;
}

export const appName = 'egressgw';

const labels = {
  'app.kubernetes.io/name': appName,
  'app.kubernetes.io/part-of': appName,
};
export const agentLabels = { ...labels, 'app.kubernetes.io/component': 'agent' };

function meta(name: string, namespace?: string) {
  return namespace === undefined ? { name, labels } : { name, namespace, labels };
}

/** The Namespace object (plain manifests only: Helm installs into an existing one). */
export function namespaceObject(namespace: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name: namespace,
      labels: {
        ...labels,
        // hostNetwork and added capabilities are outside the baseline Pod Security level.
        'pod-security.kubernetes.io/enforce': 'privileged',
      },
    },
  };
}

export function workloadObjects(values: Values, namespace: string): WorkloadObject[] {
  const serviceAccount = { kind: 'ServiceAccount', name: appName, namespace };
  return [
    {
      file: 'serviceaccount',
      object: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(appName, namespace) },
    },
    {
      file: 'clusterrole',
      object: {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: meta(appName),
        rules: policyRules(agentApiAccess, 'cluster'),
      },
    },
    {
      file: 'clusterrolebinding',
      object: {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: meta(appName),
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: appName },
        subjects: [serviceAccount],
      },
    },
    {
      file: 'role',
      object: {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: meta(appName, namespace),
        rules: policyRules(agentApiAccess, 'own'),
      },
    },
    {
      file: 'rolebinding',
      object: {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: meta(appName, namespace),
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: appName },
        subjects: [serviceAccount],
      },
    },
    { file: 'daemonset', object: daemonSet(values, namespace) },
  ];
}

function daemonSet(values: Values, namespace: string): KubeObject {
  const fieldEnv = (name: string, fieldPath: string) => ({
    name,
    valueFrom: { fieldRef: { fieldPath } },
  });
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: meta(appName, namespace),
    spec: {
      selector: { matchLabels: agentLabels },
      // One node at a time: a gateway group fails over instead of losing every member.
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
      template: {
        metadata: { labels: agentLabels },
        spec: {
          serviceAccountName: appName,
          // The agent programs the node's own routes, rules, nftables and ARP.
          hostNetwork: true,
          dnsPolicy: 'ClusterFirstWithHostNet',
          priorityClassName: values.priorityClassName,
          // Time to hand the active role over before the pod is killed.
          terminationGracePeriodSeconds: 30,
          nodeSelector: values.nodeSelector,
          tolerations: values.tolerations,
          containers: [
            {
              name: 'agent',
              image: `${values.image.repository}:${values.image.tag}`,
              imagePullPolicy: values.image.pullPolicy,
              args: agentArgs(values),
              env: [
                fieldEnv('NODE_NAME', 'spec.nodeName'),
                fieldEnv('POD_NAMESPACE', 'metadata.namespace'),
                fieldEnv('POD_NAME', 'metadata.name'),
                fieldEnv('NODE_IP', 'status.hostIP'),
              ],
              ports: [
                { name: 'metrics', containerPort: values.agent.metricsPort, protocol: 'TCP' },
                { name: 'heartbeat', containerPort: values.agent.heartbeatPort, protocol: 'UDP' },
                { name: 'tunnel', containerPort: values.agent.tunnelPort, protocol: 'UDP' },
              ],
              livenessProbe: {
                httpGet: { path: '/healthz', port: 'metrics' },
                initialDelaySeconds: 10,
                periodSeconds: 10,
                timeoutSeconds: 5,
                failureThreshold: 3,
              },
              // Readiness gates gateway candidacy (DESIGN.md): probe often, fail fast.
              readinessProbe: {
                httpGet: { path: '/readyz', port: 'metrics' },
                periodSeconds: 2,
                timeoutSeconds: 2,
                failureThreshold: 2,
              },
              resources: values.resources,
              securityContext: {
                // Root inside the container for netlink and the TUN device, but with only
                // the two capabilities those need: NET_ADMIN (links, routes, rules,
                // nftables, TUNSETIFF) and NET_RAW (AF_PACKET for ARP).
                privileged: false,
                allowPrivilegeEscalation: false,
                runAsUser: 0,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'], add: ['NET_ADMIN', 'NET_RAW'] },
                seccompProfile: { type: 'RuntimeDefault' },
              },
              volumeMounts: [
                { name: 'tun', mountPath: '/dev/net/tun' },
                // The runtime mounts /proc/sys read-only in unprivileged containers; the
                // node's net sysctls (ip_forward, rp_filter, accept_local, reserved ports)
                // are written through this mount instead (--proc-sys-root). With
                // hostNetwork, the files are the node's own network namespace's.
                { name: 'proc-sys-net', mountPath: '/host/proc/sys/net' },
                { name: 'tmp', mountPath: '/tmp' },
                // The kernel settings to give back outlive a crashed container here.
                { name: 'state', mountPath: '/run/egressgw' },
                { name: 'heartbeat', mountPath: '/etc/egressgw/heartbeat', readOnly: true },
              ],
            },
          ],
          volumes: [
            // The runtime's default device rules allow c 10:200 (tun) in containers.
            { name: 'tun', hostPath: { path: '/dev/net/tun', type: 'CharDevice' } },
            { name: 'proc-sys-net', hostPath: { path: '/proc/sys/net', type: 'Directory' } },
            { name: 'tmp', emptyDir: {} },
            { name: 'state', hostPath: { path: '/run/egressgw', type: 'DirectoryOrCreate' } },
            // The key that signs the agents' heartbeats (heartbeatSecret below): made by
            // the chart, or by hand for the plain manifests (deploy/README.md); a key
            // committed into static manifests would be the same in every cluster.
            { name: 'heartbeat', secret: { secretName: values.heartbeat.secretName } },
          ],
        },
      },
    },
  };
}

/** The key inside the heartbeat Secret: the file the agent reads (agent-flags.ts). */
export const heartbeatSecretKey = 'secret';

/**
 * The heartbeat Secret with `encodedKey` (base64) as its data: the chart's template passes
 * a Go expression here (chart.ts), since the key must be random per cluster and kept
 * across upgrades, which no static manifest can do.
 */
export function heartbeatSecret(values: Values, namespace: string, encodedKey: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: meta(values.heartbeat.secretName, namespace),
    type: 'Opaque',
    data: { [heartbeatSecretKey]: encodedKey },
  };
}
