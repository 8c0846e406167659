import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { CoreError } from './core-error.ts';

/**
 * Where the compiled core is: EGRESSGW_CORE_WASM, or build/core.wasm at the package root
 * (two levels up from this file in the source tree, three from dist/).
 */
export function coreWasmPath(): string {
  const fromEnv = process.env['EGRESSGW_CORE_WASM'];
  if (fromEnv) return fromEnv;
  const candidates = ['../../build/core.wasm', '../../../build/core.wasm'].map((relative) =>
    fileURLToPath(new URL(relative, import.meta.url)),
  );
  const found = candidates.find((path) => existsSync(path));
  if (!found) {
    throw new CoreError(
      'EGW_CORE_MISSING',
      `the packet core is not built (looked for ${candidates.join(', ')}): run npm run build:core`,
    );
  }
  return found;
}

/** Compiles the core once per process; instances (one per thread) share the module. */
let compiled: Promise<WebAssembly.Module> | undefined;

export function loadCoreModule(): Promise<WebAssembly.Module> {
  compiled ??= readFile(coreWasmPath()).then((bytes) => WebAssembly.compile(bytes));
  return compiled;
}
