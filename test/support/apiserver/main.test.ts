import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { loadKubeConfig } from '../../../host/k8s/kubeconfig.ts';

const MAIN = join(import.meta.dirname, 'main.ts');

describe('the API server as a process', () => {
  it('prints its URL, writes a kubeconfig the real client uses, and exits on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), `egw-apiserver-${process.pid}-`));
    const kubeconfig = join(dir, 'kubeconfig');
    const child = spawn(process.execPath, [MAIN, '--port', '0', '--kubeconfig-out', kubeconfig], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /^(http:\/\/\S+)\n/.exec(out);
          if (m) resolve(m[1]!);
        });
        child.once('exit', (code) => reject(new Error(`exited with ${code} before listening`)));
        setTimeout(() => reject(new Error('no URL within 10 s')), 10_000);
      });
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const core = loadKubeConfig({ kubeconfigPath: kubeconfig }).makeApiClient(CoreV1Api);
      const namespaces = await core.listNamespace();
      expect(namespaces.items.map((n) => n.metadata?.name)).toContain('kube-system');

      const exited = new Promise<number | null>((resolve) =>
        child.once('exit', (code) => resolve(code)),
      );
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a bad port', async () => {
    const child = spawn(process.execPath, [MAIN, '--port', 'eighty'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) =>
      child.once('exit', (c) => resolve(c)),
    );
    expect(code).toBe(2);
    expect(err).toContain('--port must be a non-negative integer');
  });
});
