/**
 * Per-request options for the generated API clients of @kubernetes/client-node, built
 * from its public middleware hook: a client-side timeout (the generated clients have
 * none, so a hung API server would hang the caller forever), a Content-Type override
 * (how the client selects a patch format), and a tap on the raw response text (so
 * objects reach our caches in wire form, the same form watch events arrive in).
 */
import {
  type ConfigurationOptions,
  Observable,
  type ObservableMiddleware,
  type RequestContext,
  type ResponseContext,
} from '@kubernetes/client-node';

export interface RequestOptions {
  timeoutMs?: number;
  contentType?: string;
  /** Receives the response body text before the client parses it. */
  onRawBody?: (text: Promise<string>) => void;
}

export function requestOptions(opts: RequestOptions): ConfigurationOptions {
  const middleware: ObservableMiddleware = {
    pre(ctx: RequestContext) {
      if (opts.timeoutMs !== undefined) ctx.setSignal(AbortSignal.timeout(opts.timeoutMs));
      if (opts.contentType !== undefined) ctx.setHeaderParam('Content-Type', opts.contentType);
      return new Observable(Promise.resolve(ctx));
    },
    post(resp: ResponseContext) {
      if (opts.onRawBody) {
        const text = resp.body.text();
        // The client reads the body once more to parse it: hand it the same text.
        resp.body = {
          text: () => text,
          binary: async () => Buffer.from(await text),
          stream: () => null,
        };
        opts.onRawBody(text);
      }
      return new Observable(Promise.resolve(resp));
    },
  };
  return { middleware: [middleware], middlewareMergeStrategy: 'append' };
}

/**
 * Runs one generated-client call and returns the response as the server sent it (parsed
 * JSON, not the client's model classes).
 */
export async function rawCall(
  call: (options: ConfigurationOptions) => Promise<unknown>,
  opts: { timeoutMs: number; contentType?: string },
): Promise<unknown> {
  let raw: Promise<string> | undefined;
  await call(requestOptions({ ...opts, onRawBody: (t) => (raw = t) }));
  if (raw === undefined) throw new Error('the response body was not captured');
  return JSON.parse(await raw) as unknown;
}
