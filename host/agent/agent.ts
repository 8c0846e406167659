import { EventEmitter } from 'node:events';
import { type CompileResult, compile } from '../control/compile.ts';
import type { ChooseActive, ClusterInputs, NodeInterface } from '../control/inputs.ts';
import type { PortRanges } from '../control/nat-policy.ts';
import type { Elector, GroupView, TakeoverEvent } from '../election/elector.ts';
import type { Heartbeat, HeartbeatPeer } from '../election/heartbeat.ts';
import type { EgressState } from '../model/egress-state.ts';
import type { ArpAnnouncer } from '../net/arp/announcer.ts';
import type { GatewayNetwork } from '../net/gateway-network.ts';
import type { GatewayRole, PodGuard } from '../net/gateway-plan.ts';
import type { ConfigSnapshot, ConfigSource } from './config-source.ts';
import type { Dataplane } from './dataplane.ts';
import { activeVips, gatewaySlice } from './gateway-slice.ts';
import { steeringOnly, steeringSlice } from './steering-slice.ts';

/** The parts an agent drives; the CLI builds them (agent-runtime.ts), tests may fake them. */
export interface AgentParts {
  source: ConfigSource;
  dataplane: Pick<Dataplane, 'setPolicy'>;
  network: Pick<GatewayNetwork, 'apply'>;
  announcer: Pick<ArpAnnouncer, 'add' | 'remove' | 'addresses'>;
  heartbeat: Pick<Heartbeat, 'isAlive' | 'setPeers'>;
  elector: Pick<Elector, 'setGroups' | 'view' | 'on'>;
  /** The node's own interfaces, read fresh for each reconcile. */
  interfaces: () => Promise<NodeInterface[]>;
}

export interface AgentSettings {
  nodeName: string;
  clusterCIDRs: string[];
  ports: PortRanges;
  /** UDP port the agents' heartbeats use on every node. */
  heartbeatPort: number;
  /** Drop this node's unknown pods' outside traffic until the agent knows them. */
  holdUnknownPods: boolean;
}

export interface AgentEvents {
  /** A reconcile finished: what the cluster looks like from here now. */
  reconciled: [result: CompileResult, announced: string[]];
  /** A reconcile failed; the next trigger (or the retry timer) tries again. */
  'reconcile-error': [error: unknown];
  takeover: [event: TakeoverEvent];
  /** Something this node cannot do while the rest goes on (the reason, for the log). */
  degraded: [reason: string];
}

const RETRY_MS = 1000;

/**
 * One node's agent: turns the configuration (file or Kubernetes), the peers' liveness and
 * the election into the node's dataplane policy, Linux routing and ARP announcements.
 *
 * Hot standby: every node programs its core and routing for every group it is suitable
 * for, as if it were active, and only the node that holds the role announces the VIP.
 * A failover then needs nothing but the announcement (gratuitous ARP) from the new node;
 * the reconcile that follows finds everything else in place.
 *
 * Reconciles never overlap and coalesce: triggers that arrive during one run it once more.
 * Order within one: withdraw announcements no longer ours (traffic stops coming here
 * first), then the core's policy, then routing, then new announcements (traffic comes
 * only once everything is ready for it).
 */
export class Agent extends EventEmitter<AgentEvents> {
  readonly #parts: AgentParts;
  readonly #settings: AgentSettings;
  #running = false;
  #dirty = false;
  #retry: NodeJS.Timeout | null = null;
  #stopped = false;
  #last: CompileResult | null = null;
  /** VIPs whose core policy and routing the last reconcile programmed (hot standby). */
  #ready = new Set<string>();
  /** The last 'degraded' reason, so that it is said once, not on every reconcile. */
  #degraded: string | null = null;

  constructor(parts: AgentParts, settings: AgentSettings) {
    super();
    this.#parts = parts;
    this.#settings = settings;
    parts.source.onChange(() => this.trigger());
    parts.elector.on('role', (view: GroupView) => {
      this.#announceAtOnce(view);
      this.trigger();
    });
    parts.elector.on('active-node', () => this.trigger());
    parts.elector.on('takeover', (event: TakeoverEvent) => this.emit('takeover', event));
  }

  /** The last compile result: the cluster as this agent sees it (status, CLI). */
  get last(): CompileResult | null {
    return this.#last;
  }

  /** Asks for a reconcile; runs it at once unless one is running, then once after it. */
  trigger(): void {
    if (this.#stopped) return;
    this.#dirty = true;
    if (this.#running) return;
    void this.#loop();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#retry) clearTimeout(this.#retry);
  }

  async #loop(): Promise<void> {
    this.#running = true;
    try {
      while (this.#dirty && !this.#stopped) {
        this.#dirty = false;
        try {
          await this.reconcile();
        } catch (error) {
          this.emit('reconcile-error', error);
          if (!this.#retry) {
            this.#retry = setTimeout(() => {
              this.#retry = null;
              this.trigger();
            }, RETRY_MS);
          }
        }
      }
    } finally {
      this.#running = false;
    }
  }

  /** One pass from the current view to the node's dataplane, routing and ARP. */
  async reconcile(): Promise<void> {
    const snapshot = this.#parts.source.current();
    if (snapshot === null) return;
    const { nodeName } = this.#settings;
    const live = new Set([
      nodeName,
      ...snapshot.nodes.map((n) => n.name).filter((n) => this.#parts.heartbeat.isAlive(n)),
    ]);

    // Pass 1 finds the groups and who is suitable; the elector decides; pass 2 records
    // its decisions in the model. compile() is pure, so both passes agree on the rest.
    const first = compile(
      snapshot.objects,
      this.#inputs(snapshot, live, () => null),
    );
    // Heartbeats go only to the nodes that share a group with this one: gateway groups
    // are a few nodes each, while every node of the cluster runs an agent.
    const mine = relevantGroups(first.state, nodeName);
    this.#parts.heartbeat.setPeers(this.#peers(snapshot, first.state, mine, nodeName));
    // Groups this node only steers to are watched, never taken (it is not suitable for
    // them): their active node is the peer whose heartbeats claim them.
    this.#parts.elector.setGroups(
      first.state.groups
        .filter((group) => mine.has(group.key))
        .map((group) => ({ key: group.key, suitable: group.suitable })),
    );
    const choose: ChooseActive = (key, suitable) => {
      const active = this.#parts.elector.view(key)?.activeNode ?? null;
      return active !== null && suitable.includes(active) ? active : null;
    };
    const result = compile(snapshot.objects, this.#inputs(snapshot, live, choose));

    const interfaces = await this.#parts.interfaces();
    const addressOf = (node: string) =>
      snapshot.nodes.find((entry) => entry.name === node)?.addresses[0] ?? null;
    const local = tunnelSource(snapshot, nodeName, interfaces);
    const degraded =
      local === null
        ? `node ${nodeName}: none of its addresses (Node status.addresses) is on one of its ` +
          'interfaces; its pods are not steered (the tunnel needs a source address)'
        : null;
    if (degraded !== null && degraded !== this.#degraded) this.emit('degraded', degraded);
    this.#degraded = degraded;
    const steering = steeringSlice(result.state, nodeName, addressOf, (key) => {
      const chosen = this.#parts.elector.view(key)?.chosenNode ?? null;
      // Only a node the model still counts as suitable (alive, Ready, not cordoned).
      const group = result.state.groups.find((entry) => entry.key === key);
      return chosen !== null && group?.suitable.includes(chosen) ? chosen : null;
    });
    const standby = asIfActive(result.state, nodeName);
    const slice = gatewaySlice(standby, nodeName, interfaces, this.#settings.ports, {
      localSources: steering.localSources,
    });
    const role: GatewayRole = {
      ...slice.role,
      steering: [...slice.role.steering, ...steering.local],
      tunnel:
        local === null
          ? null
          : { local, groups: steering.tunnelled, guard: this.#guard(snapshot, nodeName) },
    };
    const announce = activeVips(result.state, nodeName);

    const { announcer } = this.#parts;
    for (const ip of announcer.addresses())
      if (!announce.includes(ip)) announcer.remove(ownerOf(ip));
    try {
      await this.#parts.dataplane.setPolicy(slice.natPolicy);
    } catch (error) {
      // No dataplane: this node translates nothing, but its pods' steering to other
      // nodes does not need one. Keep that going, then fail so the reconcile is retried.
      await this.#parts.network.apply(steeringOnly(role, steering.local)).catch(() => {});
      throw error;
    }
    await this.#parts.network.apply(role);
    this.#ready = new Set(role.vips);
    for (const ip of announce)
      if (!announcer.addresses().includes(ip)) announcer.add(ownerOf(ip), ip);

    this.#last = result;
    this.emit('reconciled', result, announce);
  }

  /**
   * A role change, at once: a standby already translates and routes its VIPs (hot
   * standby), so the new active node announces before the reconcile that follows, which
   * takes a few hundred milliseconds of `ip` and `nft` on a busy node; a node that steps
   * down withdraws first, as the reconcile would.
   */
  #announceAtOnce(view: GroupView): void {
    const group = this.#last?.state.groups.find((entry) => entry.key === view.key);
    if (group === undefined || group.mode !== 'virtual-ip' || group.egressIP === null) return;
    const ip = group.egressIP;
    const { announcer } = this.#parts;
    const announced = announcer.addresses().includes(ip);
    if (view.role === 'active' && !announced && this.#ready.has(ip)) {
      announcer.add(ownerOf(ip), ip);
    } else if (view.role === 'standby' && announced) {
      announcer.remove(ownerOf(ip));
    }
  }

  /** The pod guard of this node (net/tunnel-plan.ts), or null when off or not possible. */
  #guard(snapshot: ConfigSnapshot, nodeName: string): PodGuard | null {
    if (!this.#settings.holdUnknownPods) return null;
    const podCIDRs = snapshot.nodes.find((node) => node.name === nodeName)?.podCIDRs ?? [];
    if (podCIDRs.length === 0) return null;
    // A finished pod's address may already belong to a new pod: not known any more.
    const known = snapshot.pods
      .filter((pod) => pod.nodeName === nodeName && pod.ip !== null && !pod.hostNetwork)
      .filter((pod) => pod.phase !== 'Succeeded' && pod.phase !== 'Failed')
      .flatMap((pod) => (pod.ip!.includes(':') ? [] : [`${pod.ip}/32`]));
    return { podCIDRs, known, open: [...this.#settings.clusterCIDRs] };
  }

  #inputs(
    snapshot: ConfigSnapshot,
    live: ReadonlySet<string>,
    chooseActive: ChooseActive,
  ): ClusterInputs {
    return {
      nodes: snapshot.nodes,
      pods: snapshot.pods,
      namespaces: snapshot.namespaces,
      clusterCIDRs: this.#settings.clusterCIDRs,
      liveAgents: live,
      chooseActive,
    };
  }

  /**
   * The nodes this one exchanges heartbeats with, at their first address: the other
   * candidates of its groups, and the nodes on either end of its steering (the
   * candidates of the groups its pods use; the nodes whose pods use its groups), which
   * learn a failover from the claims in the heartbeats. Candidacy and placement depend
   * only on labels and scheduling, not on liveness, so pass 1's answer is the right one
   * to ask with.
   */
  #peers(
    snapshot: ConfigSnapshot,
    state: EgressState,
    mine: ReadonlySet<string>,
    nodeName: string,
  ): HeartbeatPeer[] {
    const peers = new Set<string>();
    for (const group of state.groups) {
      if (!mine.has(group.key)) continue;
      for (const node of group.candidates) peers.add(node);
      if (!group.candidates.includes(nodeName)) continue;
      for (const rule of state.rules) {
        if (rule.group === group.key)
          for (const node of Object.values(rule.placement)) peers.add(node);
      }
    }
    return snapshot.nodes
      .filter((node) => node.name !== nodeName && peers.has(node.name) && node.addresses.length > 0)
      .map((node) => ({
        node: node.name,
        address: node.addresses[0]!,
        port: this.#settings.heartbeatPort,
      }));
  }
}

/**
 * The address this node's tunnel sends from: its first Node address (the one peers send
 * heartbeats and tunnelled traffic to) that is on one of its interfaces, or null.
 */
function tunnelSource(
  snapshot: ConfigSnapshot,
  nodeName: string,
  interfaces: readonly NodeInterface[],
): string | null {
  const addresses = snapshot.nodes.find((node) => node.name === nodeName)?.addresses ?? [];
  const held = new Set(
    interfaces.flatMap((entry) => entry.addresses.map((address) => address.split('/')[0])),
  );
  return addresses.find((address) => held.has(address)) ?? null;
}

/** The groups this node is a candidate for, or whose traffic it steers (its pods use them). */
function relevantGroups(state: EgressState, nodeName: string): Set<string> {
  const keys = new Set<string>();
  for (const group of state.groups) if (group.candidates.includes(nodeName)) keys.add(group.key);
  for (const rule of state.rules) {
    if (Object.values(rule.placement).includes(nodeName)) keys.add(rule.group);
  }
  return keys;
}

/** The model with this node active for every group it is suitable for (hot standby). */
function asIfActive(state: EgressState, nodeName: string): EgressState {
  return {
    ...state,
    groups: state.groups.map((group) =>
      group.suitable.includes(nodeName) ? { ...group, activeNode: nodeName } : group,
    ),
  };
}

/** One announcer owner per address: the address is the owner. */
function ownerOf(ip: string): string {
  return `vip/${ip}`;
}
