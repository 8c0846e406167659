import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { kubeconfigYaml } from '../../test/support/apiserver/kubeconfig.ts';
import { loadKubeConfig } from './kubeconfig.ts';

const dir = mkdtempSync(join(tmpdir(), `egw-k8s-kubeconfig-${process.pid}-`));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('loadKubeConfig', () => {
  it('loads a kubeconfig file', () => {
    const path = join(dir, 'config');
    writeFileSync(path, kubeconfigYaml('http://127.0.0.1:6443'));
    expect(loadKubeConfig({ kubeconfigPath: path }).getCurrentCluster()?.server).toBe(
      'http://127.0.0.1:6443',
    );
  });

  it('fails with EGW_KUBECONFIG for a missing or broken file', () => {
    expect(() => loadKubeConfig({ kubeconfigPath: join(dir, 'absent') })).toThrow(
      expect.objectContaining({ code: 'EGW_KUBECONFIG' }),
    );
    const broken = join(dir, 'broken');
    writeFileSync(broken, 'clusters: [');
    expect(() => loadKubeConfig({ kubeconfigPath: broken })).toThrow(
      expect.objectContaining({ code: 'EGW_KUBECONFIG' }),
    );
    const empty = join(dir, 'empty');
    writeFileSync(empty, 'apiVersion: v1\nkind: Config\n');
    expect(() => loadKubeConfig({ kubeconfigPath: empty })).toThrow(/no current context/);
  });

  it('uses the service account in a cluster', () => {
    const root = join(dir, 'sa');
    const sa = join(root, 'var/run/secrets/kubernetes.io/serviceaccount');
    mkdirSync(sa, { recursive: true });
    writeFileSync(join(sa, 'token'), 'tok');
    writeFileSync(join(sa, 'namespace'), 'egressgw');
    const before = process.env['KUBERNETES_SERVICE_HOST'];
    const kc = loadKubeConfig({
      env: { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' },
      serviceAccountRoot: root,
    });
    expect(kc.getCurrentCluster()?.server).toBe('https://10.96.0.1:443');
    expect(kc.getContextObject(kc.getCurrentContext())?.namespace).toBe('egressgw');
    expect(process.env['KUBERNETES_SERVICE_HOST']).toBe(before);
  });

  it('fails with EGW_KUBECONFIG outside a cluster without a file', () => {
    expect(() => loadKubeConfig({ env: {} })).toThrow(
      expect.objectContaining({ code: 'EGW_KUBECONFIG' }),
    );
    expect(() =>
      loadKubeConfig({
        env: { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' },
        serviceAccountRoot: join(dir, 'nowhere'),
      }),
    ).toThrow(/service account token/);
  });
});
