import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { agentFlagNames } from './agent-flags.ts';

// The DaemonSet's command line must be one the agent accepts: every flag the manifests
// pass is checked against the agent command's own help.

describe('the DaemonSet and the agent command', () => {
  it('agree on every flag', () => {
    const main = fileURLToPath(new URL('../../host/cli/main.ts', import.meta.url));
    const help = execFileSync(process.execPath, [main, 'agent', '--help'], { encoding: 'utf8' });
    const accepted = new Set([...help.matchAll(/--([a-z][a-z-]*)/g)].map((m) => m[1]));
    for (const flag of agentFlagNames) expect(accepted, `--${flag}`).toContain(flag);
  });
});
