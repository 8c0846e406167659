/**
 * buildLab: turns a LabSpec into a running namespace cluster in a handful of execs.
 *
 *   namespaces  one root `ip -batch` adds every namespace
 *   links       one root `ip -batch` creates every bridge and veth straight into its
 *               namespaces (nothing is ever created in the root namespace)
 *   configure   one exec per namespace, all in parallel: sysctls, then one `ip -batch`
 *               with links up, addresses and routes, ending with a listing of the
 *               namespace's devices that proves none of them reaches outside the lab
 *   offloads    only with txChecksumOffload: false; one exec per namespace
 *   services    the outside server and iperf3 -s
 *
 * Execs are the cost here (a few ms each, far more on a loaded 2-core machine), hence
 * batches and one exec per namespace per step.
 *
 * The Lab object exists (and guards against signals) before the first namespace does;
 * when any step fails, everything built so far is torn down and the error is
 * EGW_LAB_BUILD_FAILED with the failing step and the cause.
 */

import { LabError } from './errors.ts';
import { ipBatch, runInNetns } from './exec.ts';
import { ISOLATION_QUERY, isolationReport, throwIfNotIsolated } from './isolation.ts';
import { Lab, setTxChecksumOffloadIn } from './lab.ts';
import { newLabPrefix } from './names.ts';
import { type NetworkPlan, planNetwork } from './plan.ts';
import { type LabSpec, resolveLabSpec } from './spec.ts';
import { listLabNamespaces, removeLeftoverLabs } from './teardown.ts';
import { buildTopology } from './topology.ts';

export const BUILD_STEPS = ['namespaces', 'links', 'configure', 'offloads', 'services'] as const;

export type BuildStep = (typeof BUILD_STEPS)[number];

export interface BuildOptions {
  /** Called before each step; a throw fails the build there (tests inject failures). */
  beforeStep?: (step: BuildStep, lab: Lab) => void | Promise<void>;
  /**
   * First remove leftovers of labs whose owner process is gone (removeLeftoverLabs), so
   * that SIGKILLed runs do not accumulate. Live labs are never touched. Default false:
   * it deletes namespaces beyond this lab's own, which entry points (a global test setup,
   * the benchmark, the demo) opt into rather than every build doing it behind their back.
   */
  removeLeftovers?: boolean;
}

export class LabBuildError extends LabError {
  readonly step: BuildStep;
  readonly prefix: string;

  constructor(step: BuildStep, prefix: string, cause: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super('EGW_LAB_BUILD_FAILED', `building lab ${prefix} failed at ${step}: ${why}`, { cause });
    this.name = 'LabBuildError';
    this.step = step;
    this.prefix = prefix;
  }
}

export async function buildLab(spec: LabSpec = {}, options: BuildOptions = {}): Promise<Lab> {
  const resolved = resolveLabSpec(spec);
  const topology = buildTopology(resolved, resolved.prefix ?? newLabPrefix());
  const plan = planNetwork(topology);
  if (options.removeLeftovers === true) await removeLeftoverLabs();
  // Refuse before creating anything: teardown would otherwise delete a namespace this
  // lab did not create.
  const taken = listLabNamespaces().filter((entry) => entry.prefix === topology.prefix);
  if (taken.length > 0) {
    throw new LabError(
      'EGW_LAB_BAD_SPEC',
      `lab prefix ${topology.prefix} is in use: ${taken.map((entry) => entry.name).join(', ')}`,
    );
  }
  const lab = new Lab(topology);
  const steps: Record<BuildStep, () => Promise<void>> = {
    namespaces: () => createNamespaces(plan),
    links: async () => {
      await ipBatch(undefined, plan.createLinks);
    },
    configure: () => configure(plan),
    offloads: () => (resolved.txChecksumOffload ? Promise.resolve() : disableOffloads(plan)),
    services: () => (resolved.outsideServices ? lab.startOutsideServices() : Promise.resolve()),
  };
  for (const step of BUILD_STEPS) {
    const started = performance.now();
    try {
      await options.beforeStep?.(step, lab);
      await steps[step]();
    } catch (error) {
      await lab.teardown();
      throw new LabBuildError(step, topology.prefix, error);
    }
    lab.buildTimings[step] = performance.now() - started;
  }
  return lab;
}

/** Builds a lab, runs `body` with it, and tears it down whatever happens. */
export async function withLab<T>(spec: LabSpec, body: (lab: Lab) => Promise<T>): Promise<T> {
  const lab = await buildLab(spec);
  try {
    return await body(lab);
  } finally {
    await lab.teardown();
  }
}

async function createNamespaces(plan: NetworkPlan): Promise<void> {
  await ipBatch(
    undefined,
    plan.namespaces.map((netns) => `netns add ${netns}`),
  );
}

async function configure(plan: NetworkPlan): Promise<void> {
  const lab = new Set(plan.namespaces);
  const reports = await Promise.all(
    plan.namespaces.map(async (netns) => {
      const lines = [...(plan.configure.get(netns) ?? []), ...ISOLATION_QUERY];
      const sysctls = plan.sysctls.get(netns) ?? [];
      // Keys and values come from the plan and are passed as arguments, not as script.
      const result = await runInNetns(
        netns,
        ['sh', '-c', 'sysctl -q -w "$@" >/dev/null && exec ip -d -j -batch -', 'sh', ...sysctls],
        { input: `${lines.join('\n')}\n` },
      );
      return isolationReport(netns, result.stdout, lab);
    }),
  );
  throwIfNotIsolated(reports.flat());
}

async function disableOffloads(plan: NetworkPlan): Promise<void> {
  await Promise.all(
    [...plan.veths].map(([netns, devices]) => setTxChecksumOffloadIn(netns, devices, false)),
  );
}
