import type { Logger } from 'pino';
import { readyAgentNodes } from '../agent/agent-nodes.ts';
import type { AgentRuntimeOptions } from '../agent/agent-runtime.ts';
import { CONNECTIONS_FIELD_MANAGER } from '../agent/kube-connections.ts';
import { KubeSource } from '../agent/kube-source.ts';
import { KubeStatus } from '../agent/kube-status.ts';
import { InterfacesPublisher } from '../agent/node-interfaces-annotation.ts';
import { FileSource } from '../config/file-source.ts';
import { formatProblem } from '../config/problem.ts';
import { KubeLeaseStore } from '../election/kube-lease-store.ts';
import { ClusterInformers } from '../k8s/cluster-informers.ts';
import { EventRecorder } from '../k8s/event-recorder.ts';
import { loadKubeConfig } from '../k8s/kubeconfig.ts';
import { LeaseClient } from '../k8s/leases.ts';
import { StatusWriter } from '../k8s/status-writer.ts';

/**
 * Where an agent's configuration comes from, and what goes with it: in file mode only
 * the file; in Kubernetes mode the informers, Lease fencing, this node's interfaces
 * published as an annotation, and the objects' statuses and events written back.
 */
export interface AgentSources
  extends Pick<AgentRuntimeOptions, 'source' | 'leaseStore' | 'publishInterfaces' | 'statusSink'> {
  close(): Promise<void>;
}

export async function openFileSources(path: string, log: Logger): Promise<AgentSources> {
  const listeners: Array<() => void> = [];
  const file = new FileSource(path, {
    onSnapshot: (snapshot) => {
      for (const problem of snapshot.problems) {
        log.warn({ problem: formatProblem(problem) }, 'configuration problem');
      }
      for (const listener of listeners) listener();
    },
    onError: (error) =>
      log.error({ err: error }, 'configuration could not be read; keeping the last good one'),
  });
  await file.start();
  return {
    source: { current: () => file.snapshot, onChange: (listener) => listeners.push(listener) },
    leaseStore: null,
    close: async () => file.close(),
  };
}

export interface KubeSourcesOptions {
  /** A kubeconfig file; in-cluster configuration when absent. */
  kubeconfig: string | undefined;
  nodeName: string;
  /** Where the Leases that fence the active roles live (the agent's own namespace). */
  leaseNamespace: string;
  syncTimeoutMs: number;
}

export async function openKubeSources(
  options: KubeSourcesOptions,
  log: Logger,
): Promise<AgentSources> {
  const kc = loadKubeConfig(
    options.kubeconfig === undefined ? {} : { kubeconfigPath: options.kubeconfig },
  );
  const informers = new ClusterInformers(kc);
  const source = new KubeSource(informers, { log });
  await informers.start();
  try {
    await informers.waitForSync(options.syncTimeoutMs);
  } catch (error) {
    await informers.stop();
    throw error;
  }
  const publisher = new InterfacesPublisher(kc, {
    nodeName: options.nodeName,
    cachedNode: () => informers.nodes.getByName(options.nodeName),
  });
  return {
    source,
    leaseStore: new KubeLeaseStore(new LeaseClient(kc), options.leaseNamespace),
    publishInterfaces: async (interfaces) => {
      await publisher.publish(interfaces);
    },
    statusSink: (liveAgents, dataplane) => {
      const status = new KubeStatus({
        informers,
        // KubeStatus retries on the next reconcile itself: few attempts per write keep
        // an outage from stalling it.
        writer: new StatusWriter(kc, { attempts: 2 }),
        events: new EventRecorder(kc, { host: options.nodeName }),
        nodeName: options.nodeName,
        // The cluster's view of the agents, the same on every node; heartbeats reach only
        // the nodes an agent shares a gateway or steering with, so a node that shares
        // none would see only itself and write too. The heartbeat view stands in where
        // the agents' pods are not visible (agents run outside the DaemonSet).
        liveAgents: () => {
          const agents = readyAgentNodes(source.current()?.pods ?? [], options.leaseNamespace);
          return agents.length > 0 ? [options.nodeName, ...agents] : liveAgents();
        },
        log,
        ...(dataplane === undefined
          ? {}
          : {
              connections: {
                // The SNAT ports in use per egress address, as egressgw_snat_ports_in_use.
                byEgressIP: () => new Map(dataplane.portUse().map((u) => [u.egressIP, u.inUse])),
                writer: new StatusWriter(kc, {
                  fieldManager: CONNECTIONS_FIELD_MANAGER,
                  attempts: 2,
                }),
              },
            }),
      });
      return { write: (result) => void status.write(result) };
    },
    close: async () => {
      await informers.stop();
    },
  };
}
