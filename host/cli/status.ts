import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { type ExitCode, exitCodes } from './exit-codes.ts';
import type { CommandIO } from './validate.ts';

/**
 * `egressgw status`: the egress objects as the agents last described them in their
 * statuses, one table per kind, like `kubectl get` with the columns that answer "which
 * node and address does this traffic leave from, how much of it, and why not".
 *
 * READY NODES is status.readyNodes, the number of suitable nodes (the Ready condition's
 * message names them); CONNECTIONS is status.connections, which the active node
 * refreshes at most every 15 s (agent/kube-connections.ts).
 */

type Fields = Record<string, unknown>;

interface Condition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
}

const kinds = [
  {
    title: 'EgressGateways',
    group: 'network.deckhouse.io',
    version: 'v1alpha1',
    plural: 'egressgateways',
    columns: ['NAME', 'MODE', 'ACTIVE NODE', 'IP', 'READY NODES', 'CONNECTIONS', 'READY'],
    row: (o: Fields): string[] => [
      name(o),
      text(field(o, 'spec', 'sourceIP', 'mode')) === 'VirtualIPAddress' ? 'VirtualIP' : 'PrimaryIP',
      text(field(o, 'status', 'activeNode')),
      text(field(o, 'status', 'egressIP')),
      text(field(o, 'status', 'readyNodes')),
      text(field(o, 'status', 'connections')),
      ready(o),
    ],
  },
  {
    title: 'EgressGatewayPolicies',
    group: 'network.deckhouse.io',
    version: 'v1alpha1',
    plural: 'egressgatewaypolicies',
    columns: ['NAME', 'GATEWAY', 'DESTINATIONS', 'READY'],
    row: (o: Fields): string[] => [
      name(o),
      text(field(o, 'spec', 'egressGatewayName')),
      list(field(o, 'spec', 'destinationCIDRs')),
      ready(o),
    ],
  },
  {
    title: 'Egresses',
    group: 'crd.antrea.io',
    version: 'v1beta1',
    plural: 'egresses',
    columns: ['NAME', 'EGRESSIP', 'NODE', 'POOL', 'CONNECTIONS', 'READY'],
    row: (o: Fields): string[] => [
      name(o),
      text(field(o, 'status', 'egressIP')),
      text(field(o, 'status', 'egressNode')),
      text(field(o, 'spec', 'externalIPPool')),
      text(field(o, 'status', 'connections')),
      ready(o),
    ],
  },
  {
    title: 'ExternalIPPools',
    group: 'crd.antrea.io',
    version: 'v1beta1',
    plural: 'externalippools',
    columns: ['NAME', 'TOTAL', 'USED'],
    row: (o: Fields): string[] => [
      name(o),
      text(field(o, 'status', 'usage', 'total')),
      text(field(o, 'status', 'usage', 'used')),
    ],
  },
] as const;

function field(o: Fields, ...path: string[]): unknown {
  let value: unknown = o;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Fields)[key];
  }
  return value;
}

function text(value: unknown): string {
  return value === undefined || value === null || value === '' ? '<none>' : String(value);
}

function list(value: unknown): string {
  return Array.isArray(value) && value.length > 0 ? value.join(',') : '<none>';
}

function name(o: Fields): string {
  return text(field(o, 'metadata', 'name'));
}

/** True, or False with the reason of the first condition that is not True. */
function ready(o: Fields): string {
  const conditions = (field(o, 'status', 'conditions') ?? []) as Condition[];
  const failing = conditions.find((c) => c.status !== 'True');
  if (conditions.length === 0) return '<unknown>';
  return failing ? `False (${failing.reason ?? failing.type})` : 'True';
}

/** Columns padded to their widest cell, as kubectl prints them. */
export function formatTable(columns: readonly string[], rows: readonly string[][]): string {
  const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]): string =>
    cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]! + 3))).join('');
  return [line(columns), ...rows.map(line)].join('\n');
}

export async function runStatus(kc: KubeConfig, io: CommandIO): Promise<ExitCode> {
  const api = kc.makeApiClient(CustomObjectsApi);
  let printed = 0;
  for (const kind of kinds) {
    let items: Fields[];
    try {
      const listed = (await api.listClusterCustomObject({
        group: kind.group,
        version: kind.version,
        plural: kind.plural,
      })) as { items?: Fields[] };
      items = listed.items ?? [];
    } catch (error) {
      const code = (error as { code?: number }).code;
      // A kind whose CRD is not installed (Antrea's, on a Deckhouse cluster) is no error.
      if (code === 404) continue;
      io.stderr.write(`egressgw status: cannot list ${kind.plural}: ${(error as Error).message}\n`);
      return exitCodes.unavailable;
    }
    if (items.length === 0) continue;
    const rows = items.map((item) => kind.row(item)).sort((a, b) => a[0]!.localeCompare(b[0]!));
    io.stdout.write(
      `${printed > 0 ? '\n' : ''}${kind.title}\n${formatTable(kind.columns, rows)}\n`,
    );
    printed++;
  }
  if (printed === 0) io.stdout.write('no egress objects\n');
  return exitCodes.ok;
}
