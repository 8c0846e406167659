import type { GatewayPlan } from './desired-state.ts';
import type { NetContext } from './exec.ts';
import {
  emptyPlan,
  type GatewayConfig,
  type GatewayRole,
  hasRole,
  planGateway,
} from './gateway-plan.ts';
import { reconcileLink, uplinkMtu } from './link-reconciler.ts';
import { reconcileNft } from './nft-reconciler.ts';
import type { RestoreJournal } from './restore-journal.ts';
import { reconcileRoutes } from './route-reconciler.ts';
import { reconcileRules } from './rule-reconciler.ts';
import type { SysctlAccess } from './sysctl.ts';
import { reconcileSysctls } from './sysctl-reconciler.ts';

/**
 * The Linux side of a gateway node, whole: `apply(role)` records what the node should be
 * doing and reconciles every concern; a timer reconciles again (repairing what someone
 * deleted behind our back); `teardown()` reconciles towards "no role", which removes
 * every object of ours and gives back what we changed.
 *
 * Order, when the node has a role: the TUN (routes need it up), kernel settings (ports
 * reserved before replies to them are stolen), the table, nftables (marks exist before a
 * rule routes by them), and the rules last, which is when traffic starts to flow; then
 * settings no longer wanted are given back. Without a role the same in reverse: traffic
 * stops first (rules), then the rest goes.
 *
 * Calls never overlap: each waits for the one before (apply during a repair runs after it).
 */

export type Concern = 'link' | 'sysctl' | 'routes' | 'nft' | 'rules';

/** What one reconcile changed, per concern; empty when everything was already right. */
export type Changes = Partial<Record<Concern, string[]>>;

export interface GatewayNetworkOptions {
  context: NetContext;
  sysctl: SysctlAccess;
  journal: RestoreJournal;
  config: GatewayConfig;
  /** Period of the repair loop. */
  repairIntervalMs?: number;
  /** Called after a repair that had to change something (drift). */
  onRepair?: (changes: Changes) => void;
  /** Called when a repair fails; the loop tries again next period. */
  onError?: (error: unknown) => void;
}

const NO_ROLE: GatewayRole = { steering: [], vips: [], localEgress: [] };
const VALIDATION_MTU = 1500;

export class GatewayNetwork {
  readonly #options: GatewayNetworkOptions;
  #role: GatewayRole = NO_ROLE;
  #queue: Promise<unknown> = Promise.resolve();
  #timer: NodeJS.Timeout | null = null;
  #repairing = false;

  constructor(options: GatewayNetworkOptions) {
    this.#options = options;
    emptyPlan(options.config); // validates the config now, not at the first apply
  }

  /**
   * Makes `role` the desired state and reconciles to it. Rejects with NetError. An invalid
   * role (EGW_NET_BAD_ROLE) is refused and the previous one stays; a valid role is kept
   * even when reconciling fails (the TUN not there yet), so that the repair loop gets there.
   */
  apply(role: GatewayRole): Promise<Changes> {
    return this.#serialize(() => {
      // Validation only: the uplink's real MTU is read when planning for real.
      planGateway(this.#options.config, role, { uplinkMtu: VALIDATION_MTU });
      this.#role = role;
      return this.#reconcile();
    });
  }

  /** Reconciles to the last applied role: the repair step, also callable directly. */
  reconcile(): Promise<Changes> {
    return this.#serialize(() => this.#reconcile());
  }

  /** Starts the repair loop (idempotent). */
  start(): void {
    if (this.#timer !== null) return;
    this.#timer = setInterval(() => {
      // A repair slower than the period skips ticks instead of queueing them up.
      if (this.#repairing) return;
      this.#repairing = true;
      this.reconcile()
        .then(
          (changes) => {
            if (Object.keys(changes).length > 0) this.#options.onRepair?.(changes);
          },
          (error: unknown) => this.#options.onError?.(error),
        )
        .finally(() => {
          this.#repairing = false;
        });
    }, this.#options.repairIntervalMs ?? 5_000);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** Stops the loop and removes everything of ours; safe to call again. */
  teardown(): Promise<Changes> {
    this.stop();
    return this.apply(NO_ROLE);
  }

  #serialize<T>(step: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(step, step);
    this.#queue = run.catch(() => {});
    return run;
  }

  async #plan(): Promise<GatewayPlan> {
    const { config, context } = this.#options;
    if (!hasRole(this.#role)) return emptyPlan(config);
    const mtu = config.mtu ?? (await uplinkMtu(context, config.uplink));
    return planGateway(config, this.#role, { uplinkMtu: mtu });
  }

  async #reconcile(): Promise<Changes> {
    const { context, journal, sysctl } = this.#options;
    const plan = await this.#plan();
    const changes: Changes = {};
    const record = (concern: Concern, list: string[]) => {
      if (list.length > 0) changes[concern] = [...(changes[concern] ?? []), ...list];
    };
    const link = async () => record('link', await reconcileLink(context, journal, plan.link));
    const routes = async () =>
      record(
        'routes',
        await reconcileRoutes(context, {
          tableId: plan.tableId,
          protocol: plan.routeProtocol,
          routes: plan.routes,
        }),
      );
    const nft = async () => record('nft', await reconcileNft(context, plan.nftTableName, plan.nft));
    const rules = async () =>
      record(
        'rules',
        await reconcileRules(context, {
          rules: plan.rules,
          localRulePriority: plan.localRulePriority,
          protocol: plan.routeProtocol,
        }),
      );
    const settings = async (restoreUnwanted: boolean) =>
      record('sysctl', await reconcileSysctls(sysctl, journal, plan.sysctls, { restoreUnwanted }));

    if (plan.link !== null) {
      await link();
      await settings(false);
      await routes();
      await nft();
      await rules();
      await settings(true);
    } else {
      await rules();
      await nft();
      await routes();
      await link();
      await settings(true);
    }
    return changes;
  }
}
