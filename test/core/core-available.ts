import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Whether the suites that drive the compiled core can run: the host's core module and the
 * built WebAssembly (`npm run build:core`, or EGRESSGW_CORE_WASM) are both there.
 */
const corePath = fileURLToPath(new URL('../../host/dataplane/core.ts', import.meta.url));
const wasmPath =
  process.env['EGRESSGW_CORE_WASM'] ??
  fileURLToPath(new URL('../../build/core.wasm', import.meta.url));

export const coreAvailable = existsSync(corePath) && existsSync(wasmPath);
