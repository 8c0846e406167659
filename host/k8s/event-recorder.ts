/**
 * Core v1 Events about our objects, deduplicated the way client-go's EventCorrelator
 * does it, so `kubectl describe` shows "x5 over 3m" instead of five lines: an event equal
 * to a recent one (same object, type, reason, message, source) patches that Event's
 * count and lastTimestamp instead of creating another.
 *
 * Invariants:
 *  - at most `cacheSize` recent events are remembered (least recently used goes first);
 *  - writes for one dedup key are serialized, so concurrent identical events count up
 *    one Event instead of racing to create two;
 *  - a failed write leaves the remembered count unchanged.
 */
import {
  CoreV1Api,
  type CoreV1Event,
  type KubeConfig,
  PatchStrategy,
} from '@kubernetes/client-node';
import { httpStatusOf, KubeError, serverMessage } from './errors.ts';
import { requestOptions } from './request-options.ts';

export interface ObjectReference {
  apiVersion: string;
  kind: string;
  name: string;
  /** Empty for cluster-scoped objects: their events go to the `default` namespace. */
  namespace?: string;
  uid?: string;
}

export type EventType = 'Normal' | 'Warning';

export interface EventRecorderOptions {
  /** source.component and reportingComponent. */
  component?: string;
  /** source.host and reportingInstance: the node this agent runs on. */
  host?: string;
  cacheSize?: number;
  requestTimeoutMs?: number;
  now?: () => Date;
}

interface Remembered {
  namespace: string;
  name: string;
  count: number;
}

export class EventRecorder {
  private readonly api: CoreV1Api;
  private readonly component: string;
  private readonly host: string | undefined;
  private readonly cacheSize: number;
  private readonly requestTimeoutMs: number;
  private readonly now: () => Date;
  private readonly recent = new Map<string, Remembered>();
  private readonly inFlight = new Map<string, Promise<unknown>>();
  private sequence = 0n;

  constructor(kc: KubeConfig, opts: EventRecorderOptions = {}) {
    this.api = kc.makeApiClient(CoreV1Api);
    this.component = opts.component ?? 'egressgw';
    this.host = opts.host;
    this.cacheSize = opts.cacheSize ?? 4096;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 10_000;
    this.now = opts.now ?? (() => new Date());
  }

  /** Records one occurrence; resolves to the Event as stored. */
  record(
    regarding: ObjectReference,
    type: EventType,
    reason: string,
    message: string,
  ): Promise<CoreV1Event> {
    const key = JSON.stringify([
      regarding.apiVersion,
      regarding.kind,
      regarding.namespace ?? '',
      regarding.name,
      regarding.uid ?? '',
      type,
      reason,
      message,
    ]);
    const previous = this.inFlight.get(key) ?? Promise.resolve();
    const next = previous
      .catch(() => undefined)
      .then(() => this.write(key, regarding, type, reason, message));
    this.inFlight.set(key, next);
    const cleanup = (): void => {
      if (this.inFlight.get(key) === next) this.inFlight.delete(key);
    };
    next.then(cleanup, cleanup);
    return next;
  }

  private async write(
    key: string,
    regarding: ObjectReference,
    type: EventType,
    reason: string,
    message: string,
  ): Promise<CoreV1Event> {
    const now = this.now();
    const seen = this.recent.get(key);
    const options = (contentType?: string) =>
      requestOptions({ timeoutMs: this.requestTimeoutMs, ...(contentType ? { contentType } : {}) });
    try {
      if (seen) {
        try {
          const patched = await this.api.patchNamespacedEvent(
            {
              namespace: seen.namespace,
              name: seen.name,
              body: { count: seen.count + 1, lastTimestamp: now.toISOString() },
            },
            options(PatchStrategy.StrategicMergePatch),
          );
          this.remember(key, { ...seen, count: seen.count + 1 });
          return patched;
        } catch (err) {
          // The Event expired or was deleted: create it again with the running count.
          if (httpStatusOf(err) !== 404) throw err;
        }
      }
      const count = (seen?.count ?? 0) + 1;
      const namespace = regarding.namespace || 'default';
      const body: CoreV1Event = {
        metadata: { name: this.eventName(regarding.name, now), namespace },
        involvedObject: {
          apiVersion: regarding.apiVersion,
          kind: regarding.kind,
          name: regarding.name,
          ...(regarding.namespace ? { namespace: regarding.namespace } : {}),
          ...(regarding.uid ? { uid: regarding.uid } : {}),
        },
        type,
        reason,
        message,
        count,
        firstTimestamp: now,
        lastTimestamp: now,
        source: { component: this.component, ...(this.host ? { host: this.host } : {}) },
        reportingComponent: this.component,
        reportingInstance: this.host ?? '',
      };
      const created = await this.api.createNamespacedEvent({ namespace, body }, options());
      this.remember(key, { namespace, name: created.metadata?.name ?? body.metadata.name!, count });
      return created;
    } catch (err) {
      const status = httpStatusOf(err);
      throw new KubeError(
        'EGW_EVENT_WRITE_FAILED',
        `event ${reason} for ${regarding.kind} ${regarding.name}: ${serverMessage(err)}`,
        { ...(status !== undefined ? { httpStatus: status } : {}), cause: err },
      );
    }
  }

  /** client-go names events `<object>.<hex nanoseconds>`; a counter keeps them unique. */
  private eventName(objectName: string, now: Date): string {
    this.sequence++;
    const nanos = BigInt(now.getTime()) * 1_000_000n + (this.sequence % 1_000_000n);
    return `${objectName}.${nanos.toString(16)}`;
  }

  private remember(key: string, entry: Remembered): void {
    this.recent.delete(key);
    this.recent.set(key, entry);
    while (this.recent.size > this.cacheSize) {
      const oldest = this.recent.keys().next().value as string;
      this.recent.delete(oldest);
    }
  }
}
