/**
 * A list+watch cache of one kind that survives everything a control plane does to it.
 *
 * Built on the client's ListWatch (list, then watch from the list's resourceVersion,
 * relist on 410 Gone, diff on relist so that only real changes are reported), with what
 * it lacks for a long-running agent:
 *  - ListWatch stops for good on any error other than 410 (a refused connection, a 503,
 *    a reset stream): this wrapper starts it again after a jittered backoff;
 *  - a watchdog restarts a watch that has gone silent (no event, no bookmark) for longer
 *    than `watchdogMs`: a half-dead TCP connection otherwise looks like a quiet resource;
 *  - bookmarks are requested, so a quiet resource still proves the watch alive;
 *  - list requests time out on the client side.
 *
 * Invariants:
 *  - the cache is only changed by events and relist diffs: an unreachable API server
 *    leaves it as it was (`connected` turns false), it is never cleared;
 *  - each change is reported once: add for a key not in the cache, update when the
 *    resourceVersion differs, delete for a key in the cache;
 *  - `synced` turns true after the first complete list and stays true.
 */
import {
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  ListWatch,
} from '@kubernetes/client-node';
import { Backoff, sleep } from './backoff.ts';
import { KubeError } from './errors.ts';
import { type ApiClients, collectionPath, type KindRef, keyOf, makeClients } from './kinds.ts';
import { ObservedWatch } from './observed-watch.ts';
import { rawCall } from './request-options.ts';

export interface InformerOptions {
  /** Watch one namespace only (namespaced kinds); all namespaces when omitted. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** A watch silent for longer than this is restarted. The apiserver bookmarks about once a minute. */
  watchdogMs?: number;
  /** Client-side bound on a list request and on waiting for a watch response. */
  requestTimeoutMs?: number;
  /** Server-side lifetime of one watch request; client-go uses 5–10 min. */
  watchTimeoutSeconds?: number;
  /** Backoff between restarts after errors. */
  retryInitialMs?: number;
  retryMaxMs?: number;
  /** Upper bound on ListWatch's own delay before re-watching after a clean end (it grows to 30 s). */
  maxReconnectDelayMs?: number;
  /**
   * Receives what a change handler throws. The client's watch swallows exceptions from its
   * callbacks (and would skip its resourceVersion update), so handlers are isolated here;
   * by default the error is rethrown outside the informer, as an uncaught exception.
   */
  onHandlerError?: (err: unknown, verb: 'add' | 'update' | 'delete', key: string) => void;
}

export interface InformerStats {
  /** Completed lists (the first sync included). */
  lists: number;
  /** Restarts after errors. */
  errorRestarts: number;
  /** Watches restarted by the watchdog. */
  watchdogRestarts: number;
  bookmarks: number;
  /** Date.now() of the last sign of life from the server. */
  lastActivityAt: number;
  /** The last error, if any, for health reporting. */
  lastError: unknown;
  /** Exceptions thrown by change handlers. */
  handlerErrors: number;
}

export type ChangeHandler<T> = (key: string, obj: T, previous: T | undefined) => void;
type Verb = 'add' | 'update' | 'delete';

const DEFAULTS = {
  watchdogMs: 150_000,
  requestTimeoutMs: 30_000,
  watchTimeoutSeconds: 300,
  retryInitialMs: 500,
  retryMaxMs: 30_000,
  maxReconnectDelayMs: 5_000,
};

export class ResilientInformer<T extends KubernetesObject> {
  readonly kind: KindRef<T>;
  private readonly opts: typeof DEFAULTS & InformerOptions;
  private readonly clients: ApiClients;
  private readonly watch: ObservedWatch;
  private readonly listWatch: ListWatch<T>;
  private readonly cache = new Map<string, T>();
  private readonly handlers: Record<Verb, ChangeHandler<T>[]> = { add: [], update: [], delete: [] };
  private readonly connectionHandlers: ((connected: boolean) => void)[] = [];
  private readonly syncWaiters: (() => void)[] = [];
  private readonly backoff: Backoff;
  private readonly stopSignal = new AbortController();
  private watchdogTimer: NodeJS.Timeout | undefined;
  private restartPending = false;
  private started = false;
  private isSynced = false;
  private isConnected = false;
  readonly stats: InformerStats = {
    lists: 0,
    errorRestarts: 0,
    watchdogRestarts: 0,
    bookmarks: 0,
    lastActivityAt: 0,
    lastError: undefined,
    handlerErrors: 0,
  };

  constructor(kc: KubeConfig, kind: KindRef<T>, options: InformerOptions = {}) {
    this.kind = kind;
    this.opts = { ...DEFAULTS, ...options };
    this.clients = makeClients(kc);
    this.backoff = new Backoff({
      initialMs: this.opts.retryInitialMs,
      maxMs: this.opts.retryMaxMs,
    });
    this.watch = new ObservedWatch(kc, {
      timeoutSeconds: this.opts.watchTimeoutSeconds,
      // The client's own timer bounds both the wait for response headers and silence in
      // the stream. It stays above the watchdog bound so that the watchdog acts first on a
      // silent stream; it is the fallback for a watch request that never gets an answer.
      requestTimeoutMs: Math.max(this.opts.requestTimeoutMs, this.opts.watchdogMs * 2),
      observer: {
        opened: () => {
          this.touch();
          this.setConnected(true);
        },
        event: (phase) => {
          this.touch();
          // Data flowing is what proves the connection healthy again: only then does the
          // backoff start over (a server that accepts watches and drops them at once
          // keeps backing off).
          this.backoff.reset();
          if (phase === 'BOOKMARK') this.stats.bookmarks++;
        },
        ended: (err) => {
          if (err !== null && err !== undefined) this.setConnected(false);
        },
      },
    });
    const cap = this.opts.maxReconnectDelayMs;
    this.listWatch = new ListWatch<T>(
      collectionPath(kind, this.opts.namespace),
      this.watch,
      () => this.listFromServer(),
      false,
      this.opts.labelSelector,
      this.opts.fieldSelector,
      { delayFn: (ms) => sleep(Math.min(ms, cap), this.stopSignal.signal) },
    );
    this.listWatch.on('add', (obj) => this.apply('add', obj));
    this.listWatch.on('update', (obj) => this.apply('update', obj));
    this.listWatch.on('delete', (obj) => this.apply('delete', obj));
    this.listWatch.on('error', (err) => this.failed(err));
  }

  /** Registers a change handler; handlers run synchronously, in cache order. */
  on(verb: Verb, handler: ChangeHandler<T>): void {
    this.handlers[verb].push(handler);
  }

  /** Called with the new value whenever `connected` changes. */
  onConnectionChange(handler: (connected: boolean) => void): void {
    this.connectionHandlers.push(handler);
  }

  get synced(): boolean {
    return this.isSynced;
  }

  /** The last list or watch request reached the server and no error came after it. */
  get connected(): boolean {
    return this.isConnected;
  }

  get(key: string): T | undefined {
    return this.cache.get(key);
  }

  getByName(name: string, namespace?: string): T | undefined {
    return this.cache.get(namespace ? `${namespace}/${name}` : name);
  }

  /** Cached objects, of one namespace when given. */
  list(namespace?: string): T[] {
    const all = [...this.cache.values()];
    return namespace === undefined ? all : all.filter((o) => o.metadata?.namespace === namespace);
  }

  keys(): string[] {
    return [...this.cache.keys()];
  }

  /** Starts listing and watching; an informer runs once (start, then stop). */
  start(): void {
    if (this.started) return;
    this.started = true;
    const checkEvery = Math.max(50, Math.min(1_000, Math.floor(this.opts.watchdogMs / 4)));
    this.watchdogTimer = setInterval(() => this.checkWatchdog(), checkEvery);
    this.watchdogTimer.unref();
    this.run();
  }

  async stop(): Promise<void> {
    this.stopSignal.abort();
    clearInterval(this.watchdogTimer);
    this.watch.close();
    await this.listWatch.stop();
    this.setConnected(false);
    for (const w of this.syncWaiters.splice(0)) w();
  }

  /** Resolves after the first complete list; rejects with EGW_SYNC_TIMEOUT after `timeoutMs`. */
  async waitForSync(timeoutMs: number): Promise<void> {
    if (this.isSynced) return;
    let timer: NodeJS.Timeout | undefined;
    let waiter: (() => void) | undefined;
    try {
      await Promise.race([
        new Promise<void>((resolve) => {
          waiter = resolve;
          this.syncWaiters.push(resolve);
        }),
        new Promise<void>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new KubeError(
                  'EGW_SYNC_TIMEOUT',
                  `${this.kind.plural}: not synced after ${timeoutMs} ms`,
                  {
                    cause: this.stats.lastError,
                  },
                ),
              ),
            timeoutMs,
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
      const i = waiter === undefined ? -1 : this.syncWaiters.indexOf(waiter);
      if (i >= 0) this.syncWaiters.splice(i, 1);
    }
    if (!this.isSynced)
      throw new KubeError('EGW_SYNC_TIMEOUT', `${this.kind.plural}: stopped before syncing`);
  }

  private run(): void {
    if (this.stopSignal.signal.aborted) return;
    // ListWatch reports list and watch failures through its 'error' callback; anything that
    // still escapes as a rejection is handled the same way.
    this.listWatch.start().catch((err: unknown) => this.failed(err));
  }

  private async listFromServer(): Promise<KubernetesListObject<T>> {
    const params = {
      ...(this.opts.labelSelector !== undefined ? { labelSelector: this.opts.labelSelector } : {}),
      ...(this.opts.fieldSelector !== undefined ? { fieldSelector: this.opts.fieldSelector } : {}),
    };
    const list = (await rawCall(
      (o) => this.kind.list(this.clients, this.opts.namespace, params, o),
      { timeoutMs: this.opts.requestTimeoutMs },
    )) as KubernetesListObject<T>;
    this.stats.lists++;
    this.touch();
    this.backoff.reset();
    if (!this.stopSignal.signal.aborted) this.setConnected(true);
    // ListWatch applies the list right after this promise resolves, before anything else
    // can run: mark synced once that has happened.
    queueMicrotask(() => this.markSynced());
    return list;
  }

  private markSynced(): void {
    if (this.isSynced) return;
    this.isSynced = true;
    for (const w of this.syncWaiters.splice(0)) w();
  }

  private apply(verb: Verb, obj: T): void {
    const key = keyOf(obj);
    const previous = this.cache.get(key);
    if (verb === 'delete') {
      if (previous === undefined) return;
      this.cache.delete(key);
    } else {
      this.cache.set(key, obj);
    }
    const effective: Verb =
      verb === 'delete' ? 'delete' : previous === undefined ? 'add' : 'update';
    for (const h of this.handlers[effective]) {
      try {
        h(key, obj, previous);
      } catch (err) {
        this.stats.handlerErrors++;
        const report =
          this.opts.onHandlerError ??
          ((e: unknown) =>
            queueMicrotask(() => {
              throw e;
            }));
        report(err, effective, key);
      }
    }
  }

  private failed(err: unknown): void {
    if (this.stopSignal.signal.aborted) return;
    this.stats.lastError = err;
    this.setConnected(false);
    if (this.restartPending) return;
    this.restartPending = true;
    this.stats.errorRestarts++;
    const delay = this.backoff.next();
    sleep(delay, this.stopSignal.signal).then(() => {
      this.restartPending = false;
      this.run();
    });
  }

  private checkWatchdog(): void {
    if (!this.watch.isOpen) return;
    if (Date.now() - this.stats.lastActivityAt <= this.opts.watchdogMs) return;
    this.stats.watchdogRestarts++;
    this.setConnected(false);
    this.watch.restartOpenWatch();
  }

  private touch(): void {
    this.stats.lastActivityAt = Date.now();
  }

  private setConnected(value: boolean): void {
    if (this.isConnected === value) return;
    this.isConnected = value;
    for (const h of this.connectionHandlers) h(value);
  }
}
