import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createAgentMetrics } from './agent-metrics.ts';
import { MetricsError } from './errors.ts';
import { HealthChecks } from './health-checks.ts';
import { type ObservabilityServer, startObservabilityServer } from './http-server.ts';
import { startObservability } from './observability.ts';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(port: number, path: string, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('observability server', () => {
  const servers: ObservabilityServer[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close();
  });

  async function start(health = new HealthChecks()) {
    const metrics = createAgentMetrics({ processMetrics: false });
    const server = await startObservabilityServer({
      host: '127.0.0.1',
      port: 0,
      registry: metrics.registry,
      health,
    });
    servers.push(server);
    return { metrics, health, server };
  }

  it('serves Prometheus text on /metrics', async () => {
    const { metrics, server } = await start();
    metrics.setElectionRole('gw-a', 'node-1', true);
    const reply = await get(server.port, '/metrics');
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(reply.body).toContain('egressgw_election_active{group="gw-a",node="node-1"} 1');
  });

  it('answers /readyz with 503 and the failing check until it passes', async () => {
    const { health, server } = await start();
    const config = health.readinessFlag('config', 'no configuration applied yet');
    health.addReadiness('api', () => ({ ok: true, message: 'informers synced' }));
    let reply = await get(server.port, '/readyz');
    expect(reply.status).toBe(503);
    expect(reply.headers['content-type']).toBe('application/json');
    expect(JSON.parse(reply.body)).toEqual({
      status: 'failed',
      checks: [
        { name: 'config', ok: false, message: 'no configuration applied yet' },
        { name: 'api', ok: true, message: 'informers synced' },
      ],
    });
    config.set(true);
    reply = await get(server.port, '/readyz?verbose');
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body).status).toBe('ok');
  });

  it('answers /healthz from the liveness checks only', async () => {
    const health = new HealthChecks();
    health.addReadiness('dataplane', () => false);
    const { server } = await start(health);
    const reply = await get(server.port, '/healthz');
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toEqual({ status: 'ok', checks: [] });
    health.addLiveness('workers', () => ({ ok: false, message: 'worker 0 stopped' }));
    expect((await get(server.port, '/healthz')).status).toBe(503);
  });

  it('answers HEAD without a body, refuses other methods, 404s unknown paths', async () => {
    const { server } = await start();
    const head = await get(server.port, '/healthz', 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    const post = await get(server.port, '/metrics', 'POST');
    expect(post.status).toBe(405);
    expect(post.headers['allow']).toBe('GET, HEAD');
    expect((await get(server.port, '/nope')).status).toBe(404);
  });

  it('fails to start on a taken port with a code', async () => {
    const { server } = await start();
    const err = await startObservabilityServer({
      host: '127.0.0.1',
      port: server.port,
      registry: createAgentMetrics({ processMetrics: false }).registry,
      health: new HealthChecks(),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MetricsError);
    expect((err as MetricsError).code).toBe('EGW_METRICS_LISTEN');
  });

  it('wires the event-loop liveness check in startObservability', async () => {
    const obs = await startObservability({ host: '127.0.0.1', port: 0, processMetrics: false });
    try {
      const reply = await get(obs.server.port, '/healthz');
      expect(reply.status).toBe(200);
      const body = JSON.parse(reply.body);
      expect(body.checks[0].name).toBe('event-loop');
      expect(body.checks[0].ok).toBe(true);
      expect(typeof body.checks[0].details.maxLagMs).toBe('number');
    } finally {
      await obs.stop();
    }
  });
});
