/**
 * How the lab runs its own TypeScript programs inside namespaces: with the Node binary
 * that runs the lab (Node 24 strips types itself), by absolute path.
 */

import { fileURLToPath } from 'node:url';

export type LabScript = 'outside-server' | 'source-probe' | 'unix-bridge';

export function nodeScriptArgv(script: LabScript, args: readonly string[]): string[] {
  const path = fileURLToPath(new URL(`./${script}.ts`, import.meta.url));
  // Type stripping is stable in Node 24 but older 24.x still warn about it on stderr.
  return [process.execPath, '--disable-warning=ExperimentalWarning', path, ...args];
}
