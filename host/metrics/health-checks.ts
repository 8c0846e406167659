import { MetricsError } from './errors.ts';

/**
 * The named checks behind /healthz (liveness: restart the pod when one fails) and
 * /readyz (readiness: the agent may serve; node suitability counts a node only while its
 * agent pod is Ready). The agent registers checks as it starts its parts, e.g. readiness
 * "dataplane" (workers running), "config" (first configuration applied), "api" (informers
 * synced).
 *
 * A check is a function, called on every probe; it may be async, and one that throws or
 * takes longer than `checkTimeoutMs` fails with that as its message. With no checks of a
 * kind registered, that kind passes (as the kube-apiserver's /readyz does).
 */
export interface CheckResult {
  ok: boolean;
  message?: string;
  /** Figures that explain the result (e.g. event-loop lag); shown in the JSON body. */
  details?: Record<string, number | string | boolean>;
}

export type Check = () => CheckResult | boolean | Promise<CheckResult | boolean>;

export interface CheckReport extends CheckResult {
  name: string;
}

export interface HealthReport {
  ok: boolean;
  checks: CheckReport[];
}

/** A readiness check held as state: the code that knows sets it. */
export interface ReadinessFlag {
  set(ok: boolean, message?: string): void;
}

const checkName = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

export class HealthChecks {
  readonly #liveness = new Map<string, Check>();
  readonly #readiness = new Map<string, Check>();
  readonly #checkTimeoutMs: number;

  constructor(opts: { checkTimeoutMs?: number } = {}) {
    this.#checkTimeoutMs = opts.checkTimeoutMs ?? 2_000;
  }

  addLiveness(name: string, check: Check): void {
    add(this.#liveness, 'liveness', name, check);
  }

  addReadiness(name: string, check: Check): void {
    add(this.#readiness, 'readiness', name, check);
  }

  /** A readiness check that fails until set(true); `message` says what it waits for. */
  readinessFlag(name: string, message: string): ReadinessFlag {
    let state: CheckResult = { ok: false, message };
    this.addReadiness(name, () => state);
    return {
      set(ok, why) {
        state = why === undefined ? { ok } : { ok, message: why };
      },
    };
  }

  live(): Promise<HealthReport> {
    return run(this.#liveness, this.#checkTimeoutMs);
  }

  ready(): Promise<HealthReport> {
    return run(this.#readiness, this.#checkTimeoutMs);
  }
}

function add(checks: Map<string, Check>, kind: string, name: string, check: Check): void {
  if (!checkName.test(name)) {
    throw new MetricsError(
      'EGW_METRICS_BAD_INPUT',
      `${kind} check name ${JSON.stringify(name)} must be lower-case letters, digits and '-'`,
    );
  }
  if (checks.has(name)) {
    throw new MetricsError('EGW_METRICS_DUPLICATE_CHECK', `${kind} check ${name} exists already`);
  }
  checks.set(name, check);
}

async function run(checks: Map<string, Check>, timeoutMs: number): Promise<HealthReport> {
  const reports = await Promise.all(
    [...checks].map(async ([name, check]): Promise<CheckReport> => {
      const result = await runOne(check, timeoutMs);
      return { name, ...result };
    }),
  );
  return { ok: reports.every((r) => r.ok), checks: reports };
}

async function runOne(check: Check, timeoutMs: number): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<CheckResult>((resolve) => {
    timer = setTimeout(
      () => resolve({ ok: false, message: `timed out after ${timeoutMs} ms` }),
      timeoutMs,
    );
  });
  try {
    const outcome = await Promise.race([Promise.resolve().then(check).then(normalize), timeout]);
    return outcome;
  } catch (err) {
    return {
      ok: false,
      message: `check threw: ${err instanceof Error ? err.message : String(err)}`,
    };
  } finally {
    clearTimeout(timer);
  }
}

function normalize(result: CheckResult | boolean): CheckResult {
  if (typeof result === 'boolean') return { ok: result };
  if (result === null || typeof result !== 'object' || typeof result.ok !== 'boolean') {
    return { ok: false, message: 'check returned no result' };
  }
  return result;
}
