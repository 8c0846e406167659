import { type Dirent, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { chartFiles } from './src/chart.ts';
import { manifestFiles } from './src/manifests.ts';

/**
 * Writes deploy/manifests/ and deploy/helm/egressgw/ from deploy/src/. Run from anywhere:
 *   npx node deploy/generate.ts          write the files, remove stale ones
 *   npx node deploy/generate.ts --check  exit 1 if any file differs (CI)
 * deploy/crds/ is an input (host/api/generate-crds.ts writes it): regenerate the CRDs
 * first when the API schemas change.
 */

export const deployDirectory = import.meta.dirname;
export const manifestDirectory = join(deployDirectory, 'manifests');
export const chartDirectory = join(deployDirectory, 'helm', 'egressgw');

/** Every generated file by absolute path. */
export function generatedFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const [name, text] of manifestFiles()) files.set(join(manifestDirectory, name), text);
  for (const [path, text] of chartFiles()) files.set(join(chartDirectory, path), text);
  return files;
}

/** Files under the generated directories, by absolute path. */
export function existingFiles(): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else found.push(path);
    }
  };
  walk(manifestDirectory);
  walk(chartDirectory);
  return found.sort();
}

/** What differs between the generator's output and the files on disk. */
export function differences(): string[] {
  const wanted = generatedFiles();
  const out: string[] = [];
  for (const [path, text] of wanted) {
    let current: string | null = null;
    try {
      current = readFileSync(path, 'utf8');
    } catch {
      // Missing: reported below.
    }
    if (current === null) out.push(`missing ${relative(deployDirectory, path)}`);
    else if (current !== text) out.push(`differs ${relative(deployDirectory, path)}`);
  }
  for (const path of existingFiles()) {
    if (!wanted.has(path)) out.push(`stale ${relative(deployDirectory, path)}`);
  }
  return out;
}

function write(): void {
  const wanted = generatedFiles();
  for (const path of existingFiles()) {
    if (!wanted.has(path)) {
      rmSync(path);
      console.log(`removed ${relative(deployDirectory, path)}`);
    }
  }
  for (const [path, text] of wanted) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }
  console.log(`wrote ${wanted.size} files under deploy/manifests and deploy/helm/egressgw`);
}

if (import.meta.main) {
  if (process.argv.includes('--check')) {
    const diff = differences();
    for (const line of diff) console.error(line);
    if (diff.length > 0) {
      console.error('generated deploy files are out of date: run npx node deploy/generate.ts');
      process.exit(1);
    }
  } else {
    write();
  }
}
