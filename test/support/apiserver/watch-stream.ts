/**
 * One open watch: a chunked HTTP/1.1 response carrying one JSON event per line, as the
 * apiserver sends them (`{"type":"ADDED","object":{...}}`).
 *
 * Selector transitions follow the apiserver's watch cache: an object that starts matching
 * arrives as ADDED, one that stops matching as DELETED, so a client's cache stays equal
 * to a fresh list with the same selectors.
 */
import type { ServerResponse } from 'node:http';
import { statusObject } from './api-error.ts';
import { apiVersionOf } from './kinds.ts';
import { present, type Target } from './resource-ops.ts';
import type { Matcher } from './selectors.ts';
import type { Change, Obj } from './store.ts';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export class WatchStream {
  readonly target: Target;
  readonly resource: string;
  private readonly res: ServerResponse;
  private readonly matches: Matcher;
  private bookmarkTimer: NodeJS.Timeout | undefined;
  private timeoutTimer: NodeJS.Timeout | undefined;
  /** A stalled stream stays open and silent: what a half-dead connection looks like. */
  stalled = false;
  closed = false;
  private readonly onClose: () => void;

  constructor(
    target: Target,
    resource: string,
    res: ServerResponse,
    matches: Matcher,
    onClose: () => void,
  ) {
    this.target = target;
    this.resource = resource;
    this.res = res;
    this.matches = (o) =>
      (target.namespace === '' ||
        (o['metadata'] as Obj | undefined)?.['namespace'] === target.namespace) &&
      matches(o);
    this.onClose = onClose;
    res.on('close', () => this.finish());
  }

  /** Sends headers at once: the client treats the watch as open when they arrive. */
  open(): void {
    this.res.writeHead(200, {
      'Content-Type': 'application/json',
      'Cache-Control': 'no-cache, private',
    });
    this.res.flushHeaders();
  }

  startBookmarks(intervalMs: number, currentRevision: () => number): void {
    this.bookmarkTimer = setInterval(() => {
      this.send('BOOKMARK', {
        kind: this.target.kind.kind,
        apiVersion: apiVersionOf(this.target.kind.group, this.target.version),
        metadata: { resourceVersion: String(currentRevision()) },
      });
    }, intervalMs);
    this.bookmarkTimer.unref();
  }

  closeAfter(ms: number): void {
    this.timeoutTimer = setTimeout(() => this.end(), ms);
    this.timeoutTimer.unref();
  }

  send(type: WatchEventType, object: Obj): void {
    if (this.closed || this.stalled) return;
    this.res.write(`${JSON.stringify({ type, object })}\n`);
  }

  sendObject(type: 'ADDED' | 'MODIFIED' | 'DELETED', object: Obj): void {
    this.send(type, present(object, this.target));
  }

  /** Forwards one store change, translated by the selector transition rules. */
  deliver(change: Change): void {
    if (change.resource !== this.resource) return;
    const now = this.matches(change.object);
    const before = change.previous !== undefined && this.matches(change.previous);
    switch (change.type) {
      case 'ADDED':
        if (now) this.sendObject('ADDED', change.object);
        break;
      case 'MODIFIED':
        if (now && before) this.sendObject('MODIFIED', change.object);
        else if (now) this.sendObject('ADDED', change.object);
        else if (before) this.sendObject('DELETED', change.object);
        break;
      case 'DELETED':
        if (before) this.sendObject('DELETED', change.object);
        break;
    }
  }

  /** 410 in the stream, as the apiserver reports a watch from a compacted revision. */
  expire(requested: string, oldest: number): void {
    this.send(
      'ERROR',
      statusObject(410, 'Expired', `too old resource version: ${requested} (${oldest})`),
    );
    this.end();
  }

  /** Ends the stream cleanly (the client sees a normal end of the response). */
  end(): void {
    if (this.closed) return;
    this.res.end();
    this.finish();
  }

  /** Ends the stream with a reset connection (the client sees a network error). */
  abort(): void {
    if (this.closed) return;
    this.res.socket?.destroy();
    this.finish();
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.bookmarkTimer);
    clearTimeout(this.timeoutTimer);
    this.onClose();
  }
}
