import { stringify } from 'yaml';
import { crdFiles } from './crd-files.ts';
import { copiedHeader, generatedHeader } from './generated-header.ts';
import { defaultNamespace, defaultValues } from './values.ts';
import { namespaceObject, workloadObjects } from './workload.ts';

/**
 * deploy/manifests/: everything `kubectl apply -f deploy/manifests/` needs, numbered so
 * that a directory apply creates the namespace and the CRDs before what uses them.
 * Keys are file names.
 */
export function manifestFiles(): Map<string, string> {
  const files = new Map<string, string>();
  files.set('00-namespace.yaml', generatedHeader + stringify(namespaceObject(defaultNamespace)));
  for (const crd of crdFiles()) {
    files.set(`01-crd-${crd.name}`, copiedHeader(`deploy/crds/${crd.name}`) + crd.text);
  }
  workloadObjects(defaultValues, defaultNamespace).forEach(({ file, object }, i) => {
    files.set(`${10 + i}-${file}.yaml`, generatedHeader + stringify(object, { lineWidth: 0 }));
  });
  return files;
}
