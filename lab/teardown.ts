/**
 * Removing lab namespaces: first every process inside them (SIGKILL), then the namespaces.
 * Deleting a namespace removes its veths and bridges with it, and their peers in other
 * namespaces; a namespace whose processes were not killed would linger, unnamed, until
 * they exit, holding its links.
 *
 * Both the async and the sync forms run the same two batches; the sync form exists for
 * process 'exit' handlers, which cannot wait.
 */

import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { run } from './exec.ts';
import { parseLabNamespace } from './names.ts';

const NETNS_DIR = '/run/netns';

function existing(namespaces: readonly string[]): string[] {
  return namespaces.filter((name) => existsSync(`${NETNS_DIR}/${name}`));
}

function pidsBatch(namespaces: readonly string[]): string {
  return namespaces.map((name) => `netns pids ${name}\n`).join('');
}

function deleteBatch(namespaces: readonly string[]): string {
  return namespaces.map((name) => `netns del ${name}\n`).join('');
}

function killAll(pidsText: string): void {
  for (const word of pidsText.split(/\s+/)) {
    if (!/^[1-9][0-9]*$/.test(word)) continue;
    const pid = Number(word);
    if (pid === process.pid) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Exited meanwhile.
    }
  }
}

/** Kills every process in the namespaces, then deletes them. Missing names are skipped. */
export async function destroyNamespaces(namespaces: readonly string[]): Promise<void> {
  const present = existing(namespaces);
  if (present.length === 0) return;
  // -force: keep going past a namespace that vanished meanwhile.
  const pids = await run(['ip', '-force', '-batch', '-'], {
    input: pidsBatch(present),
    allowFailure: true,
  });
  killAll(pids.stdout);
  await run(['ip', '-force', '-batch', '-'], { input: deleteBatch(present), allowFailure: true });
}

export function destroyNamespacesSync(namespaces: readonly string[]): void {
  const present = existing(namespaces);
  if (present.length === 0) return;
  const batch = (input: string): string =>
    execFileSync('ip', ['-force', '-batch', '-'], {
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'ignore'],
      timeout: 10_000,
      input,
    });
  try {
    killAll(batch(pidsBatch(present)));
  } catch (error) {
    killAll(String((error as { stdout?: unknown }).stdout ?? ''));
  }
  try {
    batch(deleteBatch(present));
  } catch {
    // Best effort while the process exits; removeLeftoverLabs catches what is left.
  }
}

/** Every lab namespace on the machine with its owner pid. */
export function listLabNamespaces(): { name: string; prefix: string; ownerPid: number }[] {
  if (!existsSync(NETNS_DIR)) return [];
  const found = [];
  for (const name of readdirSync(NETNS_DIR)) {
    const parsed = parseLabNamespace(name);
    if (parsed !== undefined) found.push({ name, ...parsed });
  }
  return found;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the namespaces (and their processes) of labs whose owner process is gone: the
 * leftovers of crashed or SIGKILLed runs. Labs of live processes, including other test
 * files running right now, are left alone. Returns the names removed.
 */
export async function removeLeftoverLabs(): Promise<string[]> {
  const stale = listLabNamespaces()
    .filter((entry) => !isAlive(entry.ownerPid))
    .map((entry) => entry.name);
  await destroyNamespaces(stale);
  return stale;
}
