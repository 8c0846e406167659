import { stringify } from 'yaml';
import { antreaGroup, crdFiles } from './crd-files.ts';
import { copiedHeader, generatedHeader } from './generated-header.ts';
import { defaultNamespace, defaultValues } from './values.ts';
import { namespaceObject, workloadObjects } from './workload.ts';

/**
 * deploy/manifests/: everything `kubectl apply -f deploy/manifests/` needs, numbered so
 * that a directory apply creates the namespace and the CRDs before what uses them.
 * The Antrea CRDs are in antrea-crds/, which that apply skips (it does not recurse):
 * applied separately, and only where Antrea is not installed, since Antrea owns CRDs of
 * the same names. Keys are paths under deploy/manifests/.
 */
export const antreaCrdDirectory = 'antrea-crds';

export function manifestFiles(): Map<string, string> {
  const files = new Map<string, string>();
  files.set('00-namespace.yaml', generatedHeader + stringify(namespaceObject(defaultNamespace)));
  for (const crd of crdFiles()) {
    const path =
      crd.group === antreaGroup ? `${antreaCrdDirectory}/${crd.name}` : `01-crd-${crd.name}`;
    files.set(path, copiedHeader(`deploy/crds/${crd.name}`) + crd.text);
  }
  workloadObjects(defaultValues, defaultNamespace).forEach(({ file, object }, i) => {
    files.set(`${10 + i}-${file}.yaml`, generatedHeader + stringify(object, { lineWidth: 0 }));
  });
  return files;
}
