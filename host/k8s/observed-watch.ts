/**
 * The client's Watch with what a long-running agent needs around it:
 *  - every watch asks for bookmarks and for a server-side timeout, so that a quiet
 *    resource still shows signs of life and watches are renewed now and then;
 *  - the time of the last event (bookmarks included) is tracked for the watchdog;
 *  - the watchdog can end a silent watch as if the server had closed it, so the
 *    ListWatch resumes from its last resourceVersion instead of stopping with an error;
 *  - once closed, no new watch is started (ListWatch may still call in after stop()).
 */
import { type KubeConfig, Watch } from '@kubernetes/client-node';

type Params = Record<string, string | number | boolean | undefined>;
type EventCallback = (phase: string, apiObj: unknown, watchObj?: unknown) => void;
type DoneCallback = (err: unknown) => void;

export interface WatchObserver {
  /** The server answered 200: the watch is open. */
  opened(): void;
  /** Any event arrived (ADDED, MODIFIED, DELETED, BOOKMARK, ERROR). */
  event(phase: string): void;
  /** The watch ended; `err` is null for a clean end (or a watchdog restart). */
  ended(err: unknown): void;
}

interface OpenWatch {
  controller: AbortController | undefined;
  finished: boolean;
  /** Ended on purpose by restartOpenWatch(): report a clean end. */
  restarted: boolean;
  finish: DoneCallback;
}

export interface ObservedWatchOptions {
  /** Server-side watch timeout (timeoutSeconds). */
  timeoutSeconds: number;
  /** Client-side bound on receiving the response headers and on silence in the stream. */
  requestTimeoutMs: number;
  observer: WatchObserver;
}

export class ObservedWatch extends Watch {
  private readonly opts: ObservedWatchOptions;
  private current: OpenWatch | undefined;
  private closed = false;

  constructor(kc: KubeConfig, opts: ObservedWatchOptions) {
    super(kc);
    this.opts = opts;
    // Watch keeps its connect/inactivity timeout in a TypeScript-private field (30 s);
    // set it when present, keep the default otherwise.
    if (typeof Reflect.get(this, 'requestTimeoutMs') === 'number') {
      Reflect.set(this, 'requestTimeoutMs', opts.requestTimeoutMs);
    }
  }

  override async watch(
    path: string,
    queryParams: Params,
    callback: EventCallback,
    done: DoneCallback,
  ): Promise<AbortController> {
    if (this.closed) return new AbortController();
    const state: OpenWatch = {
      controller: undefined,
      finished: false,
      restarted: false,
      finish: () => {},
    };
    const observer = this.opts.observer;
    const params: Params = {
      ...queryParams,
      allowWatchBookmarks: true,
      timeoutSeconds: this.opts.timeoutSeconds,
    };
    const onEvent: EventCallback = (phase, obj, raw) => {
      observer.event(phase);
      callback(phase, obj, raw);
    };
    const onDone: DoneCallback = (err) => {
      if (state.finished) return;
      state.finished = true;
      if (this.current === state) this.current = undefined;
      const reported = state.restarted ? null : err;
      observer.ended(reported);
      done(reported);
    };
    state.finish = onDone;
    let controller: AbortController;
    try {
      controller = await super.watch(path, params, onEvent, onDone);
    } catch (err) {
      // Watch throws (instead of calling done) when authentication cannot be applied, e.g.
      // a token file gone missing. ListWatch calls us from an un-awaited callback on
      // reconnects, so a throw here would become an unhandled rejection: report it as
      // the end of the watch instead.
      onDone(err);
      return new AbortController();
    }
    state.controller = controller;
    if (!state.finished) {
      this.current = state;
      observer.opened();
    }
    return controller;
  }

  /** True while a watch response is open. */
  get isOpen(): boolean {
    return this.current !== undefined;
  }

  /**
   * Ends the open watch and reports a clean end, so the ListWatch reconnects from its
   * last resourceVersion. Returns false when no watch is open.
   */
  restartOpenWatch(): boolean {
    const state = this.current;
    if (!state?.controller) return false;
    state.restarted = true;
    state.controller.abort();
    // Report the end now rather than when the aborted stream gets round to erroring.
    state.finish(null);
    return true;
  }

  close(): void {
    this.closed = true;
    this.current?.controller?.abort();
  }
}
