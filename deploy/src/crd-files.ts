import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';

/** deploy/crds/, written by host/api/generate-crds.ts; read here, never written. */
export const crdDirectory = resolve(import.meta.dirname, '../crds');

/** Antrea's API group: a real Antrea install owns CRDs of these same names. */
export const antreaGroup = 'crd.antrea.io';

export interface CrdFile {
  name: string;
  text: string;
  /** spec.group: the Antrea CRDs are installed optionally (chart.ts, manifests.ts). */
  group: string;
}

/** The CRD files by name, sorted. */
export function crdFiles(): CrdFile[] {
  return readdirSync(crdDirectory)
    .filter((name) => name.endsWith('.yaml'))
    .sort()
    .map((name) => {
      const text = readFileSync(join(crdDirectory, name), 'utf8');
      const group = (parse(text) as { spec?: { group?: unknown } } | null)?.spec?.group;
      if (typeof group !== 'string') throw new Error(`deploy/crds/${name}: no spec.group`);
      return { name, text, group };
    });
}
