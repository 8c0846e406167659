import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { MetricsError } from './errors.ts';
import type { HealthChecks, HealthReport } from './health-checks.ts';

/**
 * The agent's HTTP endpoints: /metrics (Prometheus text), /healthz (liveness) and
 * /readyz (readiness), each health body a JSON list of its checks. 200 when every check
 * passes, 503 otherwise, so kubelet probes need only the status code and a human gets
 * the reason from `curl`. Only GET and HEAD; nothing here changes state.
 */
export interface ObservabilityServerOptions {
  /** Address to bind; the agent runs with hostNetwork, so this is the node's. */
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  registry: Registry;
  health: HealthChecks;
}

export interface ObservabilityServer {
  readonly port: number;
  readonly host: string;
  close(): Promise<void>;
}

export async function startObservabilityServer(
  opts: ObservabilityServerOptions,
): Promise<ObservabilityServer> {
  const server = createServer((req, res) => {
    handle(req, res, opts).catch((err: unknown) => {
      // handle() answers every error itself; this only guards a failure while answering.
      if (!res.headersSent) reply(res, req, 500, 'text/plain; charset=utf-8', String(err));
      else res.destroy();
    });
  });
  // Probes and scrapes are short; do not let idle connections hold close() up.
  server.keepAliveTimeout = 5_000;
  await listen(server, opts.host, opts.port);
  const address = server.address() as AddressInfo;
  return {
    port: address.port,
    host: address.address,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) =>
      reject(
        new MetricsError('EGW_METRICS_LISTEN', `cannot listen on ${host}:${port}: ${err.message}`, {
          cause: err,
        }),
      );
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  opts: ObservabilityServerOptions,
): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  const route = routes[path];
  if (route === undefined) {
    reply(res, req, 404, 'text/plain; charset=utf-8', `not found: ${path}\n`);
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    reply(res, req, 405, 'text/plain; charset=utf-8', `method ${req.method} not allowed\n`);
    return;
  }
  await route(req, res, opts);
}

type Route = (
  req: IncomingMessage,
  res: ServerResponse,
  opts: ObservabilityServerOptions,
) => Promise<void>;

const routes: Record<string, Route> = {
  '/metrics': async (req, res, { registry }) => {
    let body: string;
    try {
      body = await registry.metrics();
    } catch (err) {
      reply(res, req, 500, 'text/plain; charset=utf-8', `metrics failed: ${String(err)}\n`);
      return;
    }
    reply(res, req, 200, registry.contentType, body);
  },
  '/healthz': async (req, res, { health }) => replyHealth(req, res, await health.live()),
  '/readyz': async (req, res, { health }) => replyHealth(req, res, await health.ready()),
};

function replyHealth(req: IncomingMessage, res: ServerResponse, report: HealthReport): void {
  const body = { status: report.ok ? 'ok' : 'failed', checks: report.checks };
  reply(res, req, report.ok ? 200 : 503, 'application/json', `${JSON.stringify(body)}\n`);
}

function reply(
  res: ServerResponse,
  req: IncomingMessage,
  status: number,
  contentType: string,
  body: string,
): void {
  res.statusCode = status;
  res.setHeader('content-type', contentType);
  res.setHeader('cache-control', 'no-store');
  res.setHeader('content-length', Buffer.byteLength(body));
  res.end(req.method === 'HEAD' ? undefined : body);
}
