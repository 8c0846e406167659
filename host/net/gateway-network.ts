import type { GatewayPlan } from './desired-state.ts';
import type { NetContext } from './exec.ts';
import {
  emptyPlan,
  type GatewayConfig,
  type GatewayRole,
  hasRole,
  planGateway,
  translates,
} from './gateway-plan.ts';
import { reconcileLink, uplinkMtu } from './link-reconciler.ts';
import { reconcileNft } from './nft-reconciler.ts';
import type { RestoreJournal } from './restore-journal.ts';
import { reconcileRoutes } from './route-reconciler.ts';
import { reconcileRouteTables } from './route-tables-reconciler.ts';
import { reconcileRules } from './rule-reconciler.ts';
import type { SysctlAccess } from './sysctl.ts';
import { reconcileSysctls } from './sysctl-reconciler.ts';
import { markField } from './tunnel-plan.ts';
import { reconcileTunnel } from './tunnel-reconciler.ts';
import { TunnelSlots } from './tunnel-slots.ts';
import { underlayMtu } from './underlay.ts';

/**
 * The Linux side of a node, whole (translating as a gateway, steering through the
 * tunnel, or both): `apply(role)` records what the node should be
 * doing and reconciles every concern; a timer reconciles again (repairing what someone
 * deleted behind our back); `teardown()` reconciles towards "no role", which removes
 * every object of ours and gives back what we changed.
 *
 * Order, when the node has a role: the TUN and the tunnel (routes need them up), kernel settings (ports
 * reserved before replies to them are stolen), the table, nftables (marks exist before a
 * rule routes by them), and the rules last, which is when traffic starts to flow; then
 * settings no longer wanted are given back. Without a role the same in reverse: traffic
 * stops first (rules), then the rest goes.
 *
 * Calls never overlap: each waits for the one before (apply during a repair runs after it).
 */

export type Concern = 'link' | 'tunnel' | 'sysctl' | 'routes' | 'nft' | 'rules';

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

const NO_ROLE: GatewayRole = { steering: [], vips: [], localEgress: [], tunnel: null };
const VALIDATION_MTU = 1500;

export class GatewayNetwork {
  readonly #options: GatewayNetworkOptions;
  #role: GatewayRole = NO_ROLE;
  #queue: Promise<unknown> = Promise.resolve();
  #timer: NodeJS.Timeout | null = null;
  #repairing = false;
  readonly #slots: TunnelSlots;

  constructor(options: GatewayNetworkOptions) {
    this.#options = options;
    emptyPlan(options.config); // validates the config now, not at the first apply
    this.#slots = new TunnelSlots(markField(options.config.tunnel.markMask).capacity);
  }

  /**
   * Makes `role` the desired state and reconciles to it. Rejects with NetError. An invalid
   * role (EGW_NET_BAD_ROLE) is refused and the previous one stays; a valid role is kept
   * even when reconciling fails (the TUN not there yet), so that the repair loop gets there.
   */
  apply(role: GatewayRole): Promise<Changes> {
    return this.#serialize(() => {
      // Validation only: the real MTUs are read when planning for real.
      const groups = role.tunnel?.groups ?? [];
      planGateway(this.#options.config, role, {
        uplinkMtu: VALIDATION_MTU,
        tunnel: {
          underlayMtu: VALIDATION_MTU,
          slots: new Map(groups.map((group, index) => [group.id, index + 1])),
        },
      });
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
    const role = this.#role;
    if (!hasRole(role)) return emptyPlan(config);
    // A node that only steers has no business with the uplink (a worker may have none).
    const mtu = translates(role) ? (config.mtu ?? (await uplinkMtu(context, config.uplink))) : 1500;
    if (role.tunnel === null) return planGateway(config, role, { uplinkMtu: mtu });
    return planGateway(config, role, {
      uplinkMtu: mtu,
      tunnel: {
        underlayMtu: config.tunnel.mtu === null ? await underlayMtu(context, role.tunnel.local) : 0,
        slots: this.#slots.assign(role.tunnel.groups.map((group) => group.id)),
      },
    });
  }

  async #reconcile(): Promise<Changes> {
    const { context, journal, sysctl } = this.#options;
    const plan = await this.#plan();
    const changes: Changes = {};
    const record = (concern: Concern, list: string[]) => {
      if (list.length > 0) changes[concern] = [...(changes[concern] ?? []), ...list];
    };
    const link = async () => record('link', await reconcileLink(context, journal, plan.link));
    const tunnel = async () =>
      record('tunnel', await reconcileTunnel(context, plan.tunnelName, plan.tunnel));
    const routes = async () => {
      record(
        'routes',
        await reconcileRoutes(context, {
          tableId: plan.tableId,
          protocol: plan.routeProtocol,
          routes: plan.routes,
        }),
      );
      record(
        'routes',
        await reconcileRouteTables(context, {
          tables: plan.steerTables,
          range: plan.steerTableRange,
          protocol: plan.routeProtocol,
        }),
      );
    };
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

    if (plan.link !== null || plan.tunnel !== null) {
      if (plan.link !== null) await link();
      await tunnel();
      await settings(false);
      await routes();
      await nft();
      await rules();
      // A node that only steers: the TUN is given back once no rule routes into it.
      if (plan.link === null) await link();
      await settings(true);
    } else {
      await rules();
      await nft();
      await routes();
      await tunnel();
      await link();
      await settings(true);
    }
    return changes;
  }
}
