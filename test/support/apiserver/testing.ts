/**
 * Helpers for tests that drive the real client against the test API server.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { kubeconfigYaml } from './kubeconfig.ts';
import { FakeApiServer, type FakeApiServerOptions } from './server.ts';

export interface TestCluster {
  server: FakeApiServer;
  kc: KubeConfig;
  /** A fresh KubeConfig for the same server (a second, independent client). */
  newKubeConfig(): KubeConfig;
}

export async function startTestCluster(opts: FakeApiServerOptions = {}): Promise<TestCluster> {
  const server = new FakeApiServer(opts);
  const url = await server.start();
  const newKubeConfig = (): KubeConfig => {
    const kc = new KubeConfig();
    kc.loadFromString(kubeconfigYaml(url));
    return kc;
  };
  return { server, kc: newKubeConfig(), newKubeConfig };
}

/** Polls `check` until it returns true; throws with `what` after `timeoutMs`. */
export async function eventually(
  what: string,
  check: () => boolean,
  timeoutMs = 5_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
