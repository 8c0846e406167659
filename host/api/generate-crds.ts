import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { renderCrds } from './crd.ts';

/**
 * Writes deploy/crds/*.yaml from the schemas in host/api/. Run from anywhere:
 *   npx node host/api/generate-crds.ts
 * Stale generated files (a renamed kind) are removed; other files are left alone.
 */

export const crdDirectory = resolve(import.meta.dirname, '../../deploy/crds');

function main(): void {
  const files = renderCrds();
  mkdirSync(crdDirectory, { recursive: true });
  for (const existing of readdirSync(crdDirectory)) {
    if (existing.endsWith('.yaml') && !files.has(existing)) {
      rmSync(join(crdDirectory, existing));
      console.log(`removed ${existing}`);
    }
  }
  for (const [name, text] of files) {
    writeFileSync(join(crdDirectory, name), text);
    console.log(`wrote deploy/crds/${name}`);
  }
}

if (import.meta.main) main();
