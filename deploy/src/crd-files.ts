import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** deploy/crds/, written by host/api/generate-crds.ts; read here, never written. */
export const crdDirectory = resolve(import.meta.dirname, '../crds');

/** The CRD files by name, sorted. */
export function crdFiles(): { name: string; text: string }[] {
  return readdirSync(crdDirectory)
    .filter((name) => name.endsWith('.yaml'))
    .sort()
    .map((name) => ({ name, text: readFileSync(join(crdDirectory, name), 'utf8') }));
}
