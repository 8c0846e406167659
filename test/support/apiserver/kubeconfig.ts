/**
 * A kubeconfig for the test API server: one cluster at an http:// URL, one user with a
 * token the server ignores. The client only accepts an http:// server when
 * insecure-skip-tls-verify is set (client-node config.js, createDispatcherOptions).
 */
import { stringify } from 'yaml';

export function kubeconfigYaml(serverUrl: string, namespace = 'default'): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'test', cluster: { server: serverUrl, 'insecure-skip-tls-verify': true } }],
    users: [{ name: 'test', user: { token: 'test-token' } }],
    contexts: [{ name: 'test', context: { cluster: 'test', user: 'test', namespace } }],
    'current-context': 'test',
  });
}
