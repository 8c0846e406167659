import {
  type AgentMetrics,
  type AgentMetricsOptions,
  createAgentMetrics,
} from './agent-metrics.ts';
import { EventLoopWatch, eventLoopCheck } from './event-loop-watch.ts';
import { HealthChecks } from './health-checks.ts';
import { type ObservabilityServer, startObservabilityServer } from './http-server.ts';

/**
 * Everything cli/ needs in one call: the metrics registry and handles, the health checks
 * with the event-loop liveness check already in place, and the HTTP server serving them.
 */
export interface ObservabilityOptions extends AgentMetricsOptions {
  host: string;
  port: number;
  /** An event-loop block longer than this fails /healthz. Default 5 s. */
  stallThresholdMs?: number;
  checkTimeoutMs?: number;
}

export interface Observability {
  metrics: AgentMetrics;
  health: HealthChecks;
  server: ObservabilityServer;
  stop(): Promise<void>;
}

export async function startObservability(opts: ObservabilityOptions): Promise<Observability> {
  const metrics = createAgentMetrics(opts);
  const health = new HealthChecks(
    opts.checkTimeoutMs === undefined ? {} : { checkTimeoutMs: opts.checkTimeoutMs },
  );
  const watch = new EventLoopWatch(
    opts.stallThresholdMs === undefined ? {} : { stallThresholdMs: opts.stallThresholdMs },
  );
  health.addLiveness('event-loop', eventLoopCheck(watch));
  watch.start();
  let server: ObservabilityServer;
  try {
    server = await startObservabilityServer({
      host: opts.host,
      port: opts.port,
      registry: metrics.registry,
      health,
    });
  } catch (err) {
    watch.stop();
    throw err;
  }
  return {
    metrics,
    health,
    server,
    async stop() {
      watch.stop();
      await server.close();
    },
  };
}
