import { describe, expect, it } from 'vitest';
import { antreaGroup, crdFiles } from './crd-files.ts';
import { antreaCrdDirectory, manifestFiles } from './manifests.ts';

describe('plain manifests', () => {
  const paths = [...manifestFiles().keys()];

  it('keep the Antrea CRDs apart, where `kubectl apply -f deploy/manifests/` skips them', () => {
    const antrea = crdFiles().filter((crd) => crd.group === antreaGroup);
    expect(antrea.length).toBeGreaterThan(0);
    for (const crd of antrea) {
      expect(paths).toContain(`${antreaCrdDirectory}/${crd.name}`);
      expect(paths).not.toContain(`01-crd-${crd.name}`);
    }
    expect(paths.filter((p) => p.includes('/')).sort()).toEqual(
      antrea.map((crd) => `${antreaCrdDirectory}/${crd.name}`).sort(),
    );
  });

  it('apply the other CRDs with the workload, before it', () => {
    for (const crd of crdFiles().filter((c) => c.group !== antreaGroup)) {
      expect(paths).toContain(`01-crd-${crd.name}`);
    }
  });

  it('carry no heartbeat Secret: a committed key would be the same in every cluster', () => {
    for (const text of manifestFiles().values()) expect(text).not.toMatch(/^kind: Secret$/m);
  });
});
