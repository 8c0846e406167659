import type { SysctlWant } from './desired-state.ts';
import { NetError } from './exec.ts';
import {
  formatPortRanges,
  type PortRange,
  parsePortRanges,
  subtractPortRanges,
  unionPortRanges,
} from './port-ranges.ts';
import type { RestoreJournal } from './restore-journal.ts';
import type { SysctlAccess } from './sysctl.ts';

/**
 * Kernel settings: set what the plan wants, remember what was there before (in the
 * journal, on the first change only), and give back what is no longer wanted.
 *
 * Giving back is careful not to undo someone else's later change: an exact value is
 * restored only while it still holds the value we wrote; for a port-range list only the
 * ports we added are removed, whatever others reserved meanwhile stays.
 */

const PREFIX = 'sysctl:';

type Entry =
  | { kind: 'exact'; original: string; applied: string }
  /** Ports we made reserved that were not reserved before. */
  | { kind: 'port-ranges'; added: PortRange[] };

function entryOf(journal: RestoreJournal, key: string): Entry | undefined {
  return journal.get(PREFIX + key) as Entry | undefined;
}

async function readExisting(access: SysctlAccess, key: string): Promise<string> {
  const value = await access.read(key);
  if (value === null) {
    throw new NetError('EGW_NET_SYSCTL', `sysctl ${key} does not exist (device missing?)`);
  }
  return value;
}

/** The port-range arithmetic, pure: the new text and the new record of what is ours. */
export function planPortRanges(
  current: string,
  wanted: readonly PortRange[],
  added: readonly PortRange[],
): { value: string; added: PortRange[] } {
  const present = parsePortRanges(current);
  const stale = subtractPortRanges(added, wanted); // ours, no longer wanted
  const missing = subtractPortRanges(wanted, present);
  return {
    value: formatPortRanges(unionPortRanges(subtractPortRanges(present, stale), missing)),
    added: unionPortRanges(subtractPortRanges(added, stale), missing),
  };
}

async function ensure(
  access: SysctlAccess,
  journal: RestoreJournal,
  want: SysctlWant,
): Promise<string | null> {
  const current = await readExisting(access, want.key);
  const entry = entryOf(journal, want.key);
  if (want.kind === 'exact') {
    if (current === want.value) return null;
    // Recorded before writing: a crash between the two still leaves the way back.
    const original = entry?.kind === 'exact' ? entry.original : current;
    journal.set(PREFIX + want.key, { kind: 'exact', original, applied: want.value });
    await access.write(want.key, want.value);
    return `${want.key}: ${current} -> ${want.value}`;
  }
  const before = entry?.kind === 'port-ranges' ? entry.added : [];
  const next = planPortRanges(current, want.ranges, before);
  if (formatPortRanges(parsePortRanges(current)) === next.value) {
    if (formatPortRanges(before) !== formatPortRanges(next.added)) {
      journal.set(PREFIX + want.key, { kind: 'port-ranges', added: next.added });
    }
    return null;
  }
  journal.set(PREFIX + want.key, { kind: 'port-ranges', added: next.added });
  await access.write(want.key, next.value);
  return `${want.key}: ${JSON.stringify(current)} -> ${JSON.stringify(next.value)}`;
}

async function restore(
  access: SysctlAccess,
  journal: RestoreJournal,
  key: string,
): Promise<string | null> {
  const entry = entryOf(journal, key);
  const current = await access.read(key);
  let change: string | null = null;
  if (entry !== undefined && current !== null) {
    if (entry.kind === 'exact' && current === entry.applied && current !== entry.original) {
      await access.write(key, entry.original);
      change = `${key}: ${current} -> ${entry.original} (restored)`;
    } else if (entry.kind === 'port-ranges') {
      const value = formatPortRanges(subtractPortRanges(parsePortRanges(current), entry.added));
      if (value !== formatPortRanges(parsePortRanges(current))) {
        await access.write(key, value);
        change = `${key}: ${JSON.stringify(current)} -> ${JSON.stringify(value)} (restored)`;
      }
    }
  }
  journal.delete(PREFIX + key);
  return change;
}

/**
 * Applies `wants` in order, then restores (newest first) every recorded key that is no
 * longer wanted, unless told not to yet (the caller first moves traffic away from what
 * the old values protected). An empty list restores everything. Returns the changes.
 */
export async function reconcileSysctls(
  access: SysctlAccess,
  journal: RestoreJournal,
  wants: readonly SysctlWant[],
  options: { restoreUnwanted: boolean } = { restoreUnwanted: true },
): Promise<string[]> {
  const changes: string[] = [];
  for (const want of wants) {
    const change = await ensure(access, journal, want);
    if (change !== null) changes.push(change);
  }
  if (!options.restoreUnwanted) return changes;
  const wanted = new Set(wants.map((want) => want.key));
  const recorded = journal
    .keys()
    .filter((key) => key.startsWith(PREFIX))
    .map((key) => key.slice(PREFIX.length))
    .filter((key) => !wanted.has(key))
    .reverse();
  for (const key of recorded) {
    const change = await restore(access, journal, key);
    if (change !== null) changes.push(change);
  }
  return changes;
}
