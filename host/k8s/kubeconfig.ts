/**
 * Where the agent's API credentials come from: a kubeconfig file when one is given
 * (development, the namespace test cluster), else the pod's service account
 * (KUBERNETES_SERVICE_HOST/PORT and the mounted token, as client-go's rest.InClusterConfig).
 */
import { existsSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeError } from './errors.ts';

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export interface KubeConfigSource {
  /** A kubeconfig file; wins over the in-cluster configuration. */
  kubeconfigPath?: string;
  /** Environment to read KUBERNETES_SERVICE_HOST/PORT from; process.env by default. */
  env?: Record<string, string | undefined>;
  /** Prefix for the service account files (tests point it at a temporary directory). */
  serviceAccountRoot?: string;
}

export function loadKubeConfig(source: KubeConfigSource = {}): KubeConfig {
  const kc = new KubeConfig();
  if (source.kubeconfigPath !== undefined) {
    if (!existsSync(source.kubeconfigPath)) {
      throw new KubeError(
        'EGW_KUBECONFIG',
        `kubeconfig file ${source.kubeconfigPath} does not exist`,
      );
    }
    try {
      kc.loadFromFile(source.kubeconfigPath);
    } catch (err) {
      throw new KubeError(
        'EGW_KUBECONFIG',
        `cannot read kubeconfig ${source.kubeconfigPath}: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
    if (!kc.getCurrentCluster()) {
      throw new KubeError(
        'EGW_KUBECONFIG',
        `kubeconfig ${source.kubeconfigPath} has no current context with a cluster`,
      );
    }
    return kc;
  }
  const env = source.env ?? process.env;
  const root = source.serviceAccountRoot ?? '';
  if (!env['KUBERNETES_SERVICE_HOST'] || !env['KUBERNETES_SERVICE_PORT']) {
    throw new KubeError(
      'EGW_KUBECONFIG',
      'no kubeconfig given and not in a cluster (KUBERNETES_SERVICE_HOST/PORT are not set)',
    );
  }
  if (!existsSync(`${root}${SERVICE_ACCOUNT_TOKEN}`)) {
    throw new KubeError(
      'EGW_KUBECONFIG',
      `in-cluster configuration needs the service account token at ${root}${SERVICE_ACCOUNT_TOKEN}`,
    );
  }
  const saved = {
    host: process.env['KUBERNETES_SERVICE_HOST'],
    port: process.env['KUBERNETES_SERVICE_PORT'],
  };
  // loadFromCluster reads process.env directly; hand it the environment we were given.
  process.env['KUBERNETES_SERVICE_HOST'] = env['KUBERNETES_SERVICE_HOST'];
  process.env['KUBERNETES_SERVICE_PORT'] = env['KUBERNETES_SERVICE_PORT'];
  try {
    kc.loadFromCluster(root);
  } finally {
    restoreEnv('KUBERNETES_SERVICE_HOST', saved.host);
    restoreEnv('KUBERNETES_SERVICE_PORT', saved.port);
  }
  return kc;
}

function restoreEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}
