import { describe, expect, it } from 'vitest';
import { MetricsError } from './errors.ts';
import { HealthChecks } from './health-checks.ts';

describe('health checks', () => {
  it('passes with no checks, and fails while any check fails', async () => {
    const health = new HealthChecks();
    expect(await health.ready()).toEqual({ ok: true, checks: [] });
    const dataplane = health.readinessFlag('dataplane', 'workers not started');
    health.addReadiness('api', () => true);
    expect(await health.ready()).toEqual({
      ok: false,
      checks: [
        { name: 'dataplane', ok: false, message: 'workers not started' },
        { name: 'api', ok: true },
      ],
    });
    dataplane.set(true);
    expect((await health.ready()).ok).toBe(true);
    dataplane.set(false, 'worker 1 exited');
    expect((await health.ready()).checks[0]).toEqual({
      name: 'dataplane',
      ok: false,
      message: 'worker 1 exited',
    });
  });

  it('keeps liveness and readiness apart', async () => {
    const health = new HealthChecks();
    health.addReadiness('config', () => false);
    expect((await health.live()).ok).toBe(true);
    expect((await health.ready()).ok).toBe(false);
  });

  it('fails a check that throws, rejects or hangs, with the reason', async () => {
    const health = new HealthChecks({ checkTimeoutMs: 50 });
    health.addLiveness('throws', () => {
      throw new Error('boom');
    });
    health.addLiveness('rejects', async () => {
      throw new Error('async boom');
    });
    health.addLiveness('hangs', () => new Promise<boolean>(() => {}));
    health.addLiveness('async-ok', async () => ({ ok: true, details: { lagMs: 1 } }));
    const report = await health.live();
    expect(report.ok).toBe(false);
    expect(report.checks).toEqual([
      { name: 'throws', ok: false, message: 'check threw: boom' },
      { name: 'rejects', ok: false, message: 'check threw: async boom' },
      { name: 'hangs', ok: false, message: 'timed out after 50 ms' },
      { name: 'async-ok', ok: true, details: { lagMs: 1 } },
    ]);
  });

  it('refuses duplicate and malformed names with a code', () => {
    const health = new HealthChecks();
    health.addReadiness('api', () => true);
    const codeOf = (f: () => void) => {
      try {
        f();
      } catch (err) {
        return err instanceof MetricsError ? err.code : 'other';
      }
      return 'none';
    };
    expect(codeOf(() => health.addReadiness('api', () => true))).toBe(
      'EGW_METRICS_DUPLICATE_CHECK',
    );
    // The same name may be used once per kind.
    expect(codeOf(() => health.addLiveness('api', () => true))).toBe('none');
    expect(codeOf(() => health.addReadiness('Bad Name', () => true))).toBe('EGW_METRICS_BAD_INPUT');
    expect(codeOf(() => health.addReadiness('', () => true))).toBe('EGW_METRICS_BAD_INPUT');
  });
});
