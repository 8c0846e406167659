import { error, hasErrors, type Issue, warning } from '../api/issue.ts';
import type { NamespaceInput, NodeInput, PodInput } from '../control/inputs.ts';
import type { Cidr, IPv4 } from '../model/addresses.ts';
import { CidrError, formatCidr, parseCidr, parseIPv4 } from '../model/cidr.ts';

/**
 * Core v1 Node, Pod and Namespace objects from a file, read into what compile() takes
 * (control/inputs.ts), the way the informers read them from the cluster: only the fields
 * compile needs are read, everything else (a whole `kubectl get -o yaml` dump) is left
 * alone. A field that is there but has the wrong shape is an error and the object is not
 * used, as a CRD object that fails its schema is not; messages start with the field path
 * so that the file loader can point at it.
 *
 * Defaults are the API server's: a pod without metadata.namespace is in `default`, a pod
 * without status is Pending, a node without a Ready=True condition is not ready.
 */

export type CoreKind = 'Node' | 'Pod' | 'Namespace';

export type CoreRead =
  | { kind: 'Node'; name: string | null; input: NodeInput | null; issues: Issue[] }
  | { kind: 'Pod'; name: string | null; input: PodInput | null; issues: Issue[] }
  | { kind: 'Namespace'; name: string | null; input: NamespaceInput | null; issues: Issue[] };

type Fields = Record<string, unknown>;

const POD_PHASES: readonly string[] = ['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'];
/** The node addresses egress traffic can leave from (not Hostname, not InternalDNS). */
const NODE_IP_TYPES: readonly string[] = ['InternalIP', 'ExternalIP'];

function isFields(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

function wrongType(issues: Issue[], path: string, type: string, value: unknown): void {
  issues.push(error('SchemaViolation', `${path}: must be ${type}, got ${describe(value)}`));
}

/** A nested object; null when absent (or null) or of the wrong type (then an issue). */
function child(parent: Fields | null, key: string, path: string, issues: Issue[]): Fields | null {
  const value = parent?.[key];
  if (value === undefined || value === null) return null;
  if (isFields(value)) return value;
  wrongType(issues, path, 'object', value);
  return null;
}

function text(
  parent: Fields | null,
  key: string,
  path: string,
  issues: Issue[],
): string | undefined {
  const value = parent?.[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  wrongType(issues, path, 'string', value);
  return undefined;
}

function flag(
  parent: Fields | null,
  key: string,
  path: string,
  issues: Issue[],
): boolean | undefined {
  const value = parent?.[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'boolean') return value;
  wrongType(issues, path, 'boolean', value);
  return undefined;
}

function list(parent: Fields | null, key: string, path: string, issues: Issue[]): unknown[] {
  const value = parent?.[key];
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) return value;
  wrongType(issues, path, 'array', value);
  return [];
}

function metadataOf(
  raw: Fields,
  issues: Issue[],
): { metadata: Fields | null; name: string | null } {
  const metadata = child(raw, 'metadata', 'metadata', issues);
  const name = text(metadata, 'name', 'metadata.name', issues);
  if (name === undefined || name === '') {
    issues.push(error('SchemaViolation', 'metadata.name: required field is missing'));
    return { metadata, name: null };
  }
  return { metadata, name };
}

function labelsOf(metadata: Fields | null, issues: Issue[]): Record<string, string> {
  const labels = child(metadata, 'labels', 'metadata.labels', issues);
  const result: Record<string, string> = {};
  for (const [key, value] of Object.entries(labels ?? {})) {
    // Label values are strings in the API; `tier: 1` in YAML is a number and the server
    // would refuse it, so it is refused here too rather than silently turned into "1".
    if (typeof value === 'string') result[key] = value;
    else wrongType(issues, `metadata.labels[${JSON.stringify(key)}]`, 'string', value);
  }
  return result;
}

/** An IPv4 address, null for an IPv6 one (not ours to translate); an issue when neither. */
function addressOf(textValue: string, path: string, issues: Issue[]): IPv4 | null {
  if (textValue.includes(':')) return null;
  try {
    parseIPv4(textValue);
    return textValue;
  } catch (cause) {
    if (!(cause instanceof CidrError)) throw cause;
    issues.push(error('InvalidIP', `${path}: ${cause.message}`));
    return null;
  }
}

function readNode(raw: Fields): CoreRead {
  const issues: Issue[] = [];
  const { metadata, name } = metadataOf(raw, issues);
  const labels = labelsOf(metadata, issues);
  const spec = child(raw, 'spec', 'spec', issues);
  const unschedulable = flag(spec, 'unschedulable', 'spec.unschedulable', issues) ?? false;
  const status = child(raw, 'status', 'status', issues);

  let ready: boolean | undefined;
  list(status, 'conditions', 'status.conditions', issues).forEach((entry, i) => {
    const path = `status.conditions[${i}]`;
    if (!isFields(entry)) {
      wrongType(issues, path, 'object', entry);
      return;
    }
    if (text(entry, 'type', `${path}.type`, issues) !== 'Ready') return;
    ready = text(entry, 'status', `${path}.status`, issues) === 'True';
  });
  if (ready === undefined) {
    issues.push(
      warning(
        'MissingField',
        'status.conditions: no Ready condition; the node counts as not ready ' +
          '(add {type: Ready, status: "True"})',
      ),
    );
  }

  const addresses: IPv4[] = [];
  list(status, 'addresses', 'status.addresses', issues).forEach((entry, i) => {
    const path = `status.addresses[${i}]`;
    if (!isFields(entry)) {
      wrongType(issues, path, 'object', entry);
      return;
    }
    const type = text(entry, 'type', `${path}.type`, issues);
    const address = text(entry, 'address', `${path}.address`, issues);
    if (type === undefined || address === undefined || !NODE_IP_TYPES.includes(type)) return;
    const ip = addressOf(address, `${path}.address`, issues);
    if (ip !== null && !addresses.includes(ip)) addresses.push(ip);
  });

  const input: NodeInput | null =
    name === null || hasErrors(issues)
      ? null
      : {
          name,
          labels,
          ready: ready ?? false,
          unschedulable,
          addresses,
          interfaces: null,
          podCIDRs: podCIDRsOf(spec, issues),
        };
  return { kind: 'Node', name, input, issues };
}

/** spec.podCIDRs (spec.podCIDR on old objects), IPv4 only: where this node's pods live. */
function podCIDRsOf(spec: Fields | null, issues: Issue[]): Cidr[] {
  const listed = list(spec, 'podCIDRs', 'spec.podCIDRs', issues);
  const single =
    spec !== null && 'podCIDR' in spec ? text(spec, 'podCIDR', 'spec.podCIDR', issues) : undefined;
  const cidrs: Cidr[] = [];
  const entries = listed.length > 0 ? listed : single === undefined ? [] : [single];
  entries.forEach((entry, i) => {
    const path = listed.length > 0 ? `spec.podCIDRs[${i}]` : 'spec.podCIDR';
    if (typeof entry !== 'string') {
      wrongType(issues, path, 'string', entry);
      return;
    }
    if (entry.includes(':')) return; // IPv6: not ours to steer
    try {
      const cidr = formatCidr(parseCidr(entry));
      if (!cidrs.includes(cidr)) cidrs.push(cidr);
    } catch (cause) {
      if (!(cause instanceof CidrError)) throw cause;
      // Kubernetes itself sets these; a bad one only costs the leak guard on this node.
      issues.push(warning('InvalidCIDR', `${path}: ${cause.message}; not used`));
    }
  });
  return cidrs;
}

/** The Ready condition is True; anything unreadable counts as not ready. */
function podReady(status: Fields | null): boolean {
  const conditions = status?.['conditions'];
  if (!Array.isArray(conditions)) return false;
  return conditions.some(
    (entry) => isFields(entry) && entry['type'] === 'Ready' && entry['status'] === 'True',
  );
}

function readPod(raw: Fields): CoreRead {
  const issues: Issue[] = [];
  const { metadata, name } = metadataOf(raw, issues);
  const namespace = text(metadata, 'namespace', 'metadata.namespace', issues) || 'default';
  const labels = labelsOf(metadata, issues);
  const spec = child(raw, 'spec', 'spec', issues);
  const nodeName = text(spec, 'nodeName', 'spec.nodeName', issues) || null;
  const hostNetwork = flag(spec, 'hostNetwork', 'spec.hostNetwork', issues) ?? false;
  const status = child(raw, 'status', 'status', issues);

  const phase = text(status, 'phase', 'status.phase', issues) ?? 'Pending';
  if (!POD_PHASES.includes(phase)) {
    issues.push(
      error(
        'SchemaViolation',
        `status.phase: ${describe(phase)} is not one of ${POD_PHASES.join(', ')}`,
      ),
    );
  }
  // podIP is podIPs[0]; on an IPv6-first dual-stack pod the IPv4 address is further on.
  const candidates: { text: string; path: string }[] = [];
  const podIP = text(status, 'podIP', 'status.podIP', issues);
  if (podIP !== undefined && podIP !== '') candidates.push({ text: podIP, path: 'status.podIP' });
  list(status, 'podIPs', 'status.podIPs', issues).forEach((entry, i) => {
    const path = `status.podIPs[${i}]`;
    if (!isFields(entry)) {
      wrongType(issues, path, 'object', entry);
      return;
    }
    const ip = text(entry, 'ip', `${path}.ip`, issues);
    if (ip !== undefined && ip !== '') candidates.push({ text: ip, path: `${path}.ip` });
  });
  let ip: IPv4 | null = null;
  for (const candidate of candidates) {
    const address = addressOf(candidate.text, candidate.path, issues);
    ip ??= address;
  }

  const input: PodInput | null =
    name === null || hasErrors(issues)
      ? null
      : { namespace, name, labels, ip, nodeName, phase, hostNetwork, ready: podReady(status) };
  return { kind: 'Pod', name, input, issues };
}

function readNamespace(raw: Fields): CoreRead {
  const issues: Issue[] = [];
  const { metadata, name } = metadataOf(raw, issues);
  const labels = labelsOf(metadata, issues);
  const input = name === null || hasErrors(issues) ? null : { name, labels };
  return { kind: 'Namespace', name, input, issues };
}

/** The core kind `raw` is, or null when it is not a v1 Node, Pod or Namespace. */
export function coreKindOf(raw: unknown): CoreKind | null {
  if (!isFields(raw) || raw.apiVersion !== 'v1') return null;
  return raw.kind === 'Node' || raw.kind === 'Pod' || raw.kind === 'Namespace' ? raw.kind : null;
}

/** Reads a v1 Node, Pod or Namespace; `input` is null when an issue is an error. */
export function readCoreObject(kind: CoreKind, raw: Fields): CoreRead {
  if (kind === 'Node') return readNode(raw);
  if (kind === 'Pod') return readPod(raw);
  return readNamespace(raw);
}
