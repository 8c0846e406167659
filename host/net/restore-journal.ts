import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { NetError } from './exec.ts';

/**
 * What host/net changed that it did not create, with the value it found before, so that
 * teardown can put it back: sysctls and the TUN's MTU and up state. Rules, routes and the
 * nft table need no journal (they carry our protocol or live in our own table).
 *
 * Kept in a file so that an agent restarted between apply and teardown still restores the
 * values found before its first change, not the values it set itself.
 */

export interface RestoreJournal {
  get(key: string): unknown;
  /** Records a value; written through to storage before returning. */
  set(key: string, value: unknown): void;
  delete(key: string): void;
  keys(): string[];
}

export function memoryJournal(): RestoreJournal {
  const entries = new Map<string, unknown>();
  return {
    get: (key) => entries.get(key),
    set: (key, value) => void entries.set(key, value),
    delete: (key) => void entries.delete(key),
    keys: () => [...entries.keys()],
  };
}

/** A JSON file, replaced atomically (write then rename) on every change. */
export function fileJournal(path: string): RestoreJournal {
  let entries: Record<string, unknown>;
  try {
    entries = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    if (typeof entries !== 'object' || entries === null || Array.isArray(entries)) {
      throw new Error('not a JSON object');
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new NetError('EGW_NET_SYSCTL', `restore journal ${path}: ${(error as Error).message}`);
    }
    entries = {};
  }
  const save = () => {
    mkdirSync(dirname(path), { recursive: true });
    const temporary = `${path}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(entries, null, 2)}\n`);
    renameSync(temporary, path);
  };
  return {
    get: (key) => entries[key],
    set: (key, value) => {
      entries[key] = value;
      save();
    },
    delete: (key) => {
      if (!(key in entries)) return;
      delete entries[key];
      save();
    },
    keys: () => Object.keys(entries),
  };
}
