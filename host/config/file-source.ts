import { resolve } from 'node:path';
import { type DirectoryWatch, watchFileDirectory } from './directory-watch.ts';
import { ConfigError } from './errors.ts';
import { type ConfigLoad, loadConfig, textErrors } from './load-config.ts';
import { readConfigFile } from './read-config-file.ts';

/**
 * The objects of one YAML file, for hosts without Kubernetes: the file's answer to what
 * the informers give, kept current while the file changes.
 *
 * Rules:
 *  - A snapshot is what compile() reads (load-config.ts): all egress objects as written,
 *    valid or not (compile gives an invalid one a Valid=False status and no traffic), and
 *    the Node, Pod and Namespace objects that could be read. Its `problems` list every
 *    problem with its line and column, for the agent to log.
 *  - A file with an error in its YAML text (a syntax error, a document that is not an
 *    object), or one that cannot be read, gives no snapshot: the last good one stays
 *    current and onError says why. Such an error hides whole documents, and with them
 *    gateways whose traffic would silently fall back to the node's own address; keeping
 *    the last good file is what the API server does with an apply it refuses. A broken
 *    first read fails start().
 *  - A snapshot is emitted only when the file's text changed, or the file came back after
 *    an error; an error is reported once until something changes.
 *  - Reads run one at a time, in order; close() stops everything.
 */

export interface ConfigSnapshot extends ConfigLoad {
  /** The file, as an absolute path. */
  file: string;
  /** 1 for the first snapshot, one more for each after it. */
  revision: number;
}

export interface FileSourceOptions {
  /** Quiet time after the last change before the file is read (default 100 ms). */
  debounceMs?: number;
  /** Keep the process alive while watching (default true). */
  persistent?: boolean;
  /** Every snapshot, the first included, in order. */
  onSnapshot(snapshot: ConfigSnapshot): void;
  /**
   * A reload that gave no snapshot: a ConfigError (missing, unreadable, syntax, watch);
   * any other error is a bug in egressgw.
   */
  onError(error: Error): void;
}

const DEFAULT_DEBOUNCE_MS = 100;

/** What the last read saw, so that the same text or the same failure is not repeated. */
type LastRead = { text: string } | { failure: string } | null;

export class FileSource {
  readonly file: string;
  readonly #options: FileSourceOptions;
  #watch: DirectoryWatch | null = null;
  #queue: Promise<void> = Promise.resolve();
  #snapshot: ConfigSnapshot | null = null;
  #lastRead: LastRead = null;
  #closed = false;

  constructor(file: string, options: FileSourceOptions) {
    this.file = resolve(file);
    this.#options = options;
  }

  /** The last good snapshot; null before start() succeeded. */
  get snapshot(): ConfigSnapshot | null {
    return this.#snapshot;
  }

  /**
   * Starts watching, then reads the file. Throws ConfigError when the first read gives no
   * snapshot (missing, unreadable, syntax error) or the directory cannot be watched; the
   * source is closed then.
   */
  async start(): Promise<ConfigSnapshot> {
    if (this.#closed || this.#watch !== null) {
      throw new Error('FileSource.start() may be called once, before close()');
    }
    // Watching first: a change made while the first read runs is then not lost.
    this.#watch = watchFileDirectory(this.file, {
      debounceMs: this.#options.debounceMs ?? DEFAULT_DEBOUNCE_MS,
      persistent: this.#options.persistent ?? true,
      onChange: () => void this.reload(),
      onError: (error) => this.#report(error),
    });
    // The first read is queued like any other, so a change seen meanwhile is read after it.
    const first = this.#queue.then(async () => this.#accept(await readConfigFile(this.file)));
    this.#queue = first.then(
      () => undefined,
      () => undefined,
    );
    try {
      return await first;
    } catch (error) {
      this.close();
      throw error;
    }
  }

  /**
   * Reads the file again now (after the reads already queued); what a SIGHUP handler
   * calls. Does nothing before start() or after close(). Failures, a throwing onSnapshot
   * included, go to onError; it rejects only when onError throws.
   */
  reload(): Promise<void> {
    const next = this.#queue.then(() => this.#reloadOnce());
    // Only a throwing onError/onSnapshot rejects `next`; later reads must still run.
    this.#queue = next.catch(() => undefined);
    return next;
  }

  close(): void {
    this.#closed = true;
    this.#watch?.close();
  }

  async #reloadOnce(): Promise<void> {
    if (this.#closed || this.#watch === null) return;
    try {
      const text = await readConfigFile(this.file);
      if (this.#closed) return;
      const last = this.#lastRead;
      if (last !== null && 'text' in last && last.text === text) return;
      this.#accept(text);
    } catch (error) {
      if (this.#closed) return;
      const failure = error instanceof ConfigError ? `${error.code} ${error.message}` : null;
      const last = this.#lastRead;
      if (failure !== null && last !== null && 'failure' in last && last.failure === failure) {
        return;
      }
      this.#lastRead = failure === null ? null : { failure };
      this.#report(error);
    }
  }

  /** Parses `text`; a new snapshot, or ConfigError EGW_CONFIG_SYNTAX. */
  #accept(text: string): ConfigSnapshot {
    const load = loadConfig(text, this.file);
    const broken = textErrors(load.problems);
    if (broken.length > 0) {
      const first = broken[0]!;
      throw new ConfigError(
        'EGW_CONFIG_SYNTAX',
        this.file,
        `${this.file}: ${broken.length} error${broken.length === 1 ? '' : 's'} in the YAML ` +
          `text, first at ${first.line}:${first.column}: ${first.message}` +
          (this.#snapshot === null ? '' : `; keeping revision ${this.#snapshot.revision}`),
        { problems: broken },
      );
    }
    this.#lastRead = { text };
    const snapshot: ConfigSnapshot = {
      ...load,
      file: this.file,
      revision: (this.#snapshot?.revision ?? 0) + 1,
    };
    this.#snapshot = snapshot;
    this.#options.onSnapshot(snapshot);
    return snapshot;
  }

  #report(error: unknown): void {
    this.#options.onError(error instanceof Error ? error : new Error(String(error)));
  }
}
