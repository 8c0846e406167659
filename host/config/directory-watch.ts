import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import { ConfigError } from './errors.ts';

/**
 * Calls `onChange` once things have been quiet for `debounceMs` after any change to
 * `file`.
 *
 * The directory is watched, not the file: editors and config tools save by writing a new
 * file and renaming it over the old one (`sed -i`, Ansible's copy, many editors),
 * which leaves a watch on the old inode seeing nothing ever again; a file that is deleted
 * and comes back later is seen the same way. Kubernetes' AtomicWriter (a ConfigMap or
 * Secret volume) swaps a `..data` symlink instead of touching the file's own name, so
 * changes to `..`-names count too. A save is several events (truncate, write, rename),
 * and reading in between would see half a file: the debounce waits for the last one.
 */

export interface DirectoryWatch {
  close(): void;
}

export interface DirectoryWatchOptions {
  debounceMs: number;
  /** Keep the process alive while watching (fs.watch's `persistent`). */
  persistent: boolean;
  onChange(): void;
  onError(error: ConfigError): void;
}

/** Throws ConfigError EGW_CONFIG_MISSING (no such directory) or EGW_CONFIG_WATCH. */
export function watchFileDirectory(file: string, options: DirectoryWatchOptions): DirectoryWatch {
  const name = basename(file);
  let timer: NodeJS.Timeout | undefined;
  let watcher: FSWatcher;
  const relevant = (changed: string | null): boolean =>
    // Linux always names the entry; other platforms may not, and then anything counts.
    changed === null || changed === name || changed.startsWith('..');
  try {
    watcher = watch(dirname(file), { persistent: options.persistent }, (_event, changed) => {
      if (!relevant(changed)) return;
      clearTimeout(timer);
      timer = setTimeout(options.onChange, options.debounceMs);
      if (!options.persistent) timer.unref();
    });
  } catch (cause) {
    const errno = (cause as { code?: unknown }).code;
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new ConfigError(
      errno === 'ENOENT' || errno === 'ENOTDIR' ? 'EGW_CONFIG_MISSING' : 'EGW_CONFIG_WATCH',
      file,
      `${file}: cannot watch ${dirname(file)}: ${reason}`,
      { cause },
    );
  }
  watcher.on('error', (cause) => {
    options.onError(
      new ConfigError('EGW_CONFIG_WATCH', file, `${file}: watching stopped: ${cause.message}`, {
        cause,
      }),
    );
  });
  return {
    close() {
      clearTimeout(timer);
      watcher.close();
    },
  };
}
