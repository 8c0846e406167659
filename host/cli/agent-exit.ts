import { type ExitCode, exitCodes } from './exit-codes.ts';

/**
 * The exit code and one-line message of an `egressgw agent` that could not start, from the
 * error's stable `code` (and, for system errors, its errno name), never from its message.
 * The error's `cause` chain is searched too, because the part that failed often wraps the
 * system error that says why (a heartbeat bind wraps EADDRINUSE, a sync timeout wraps the
 * API server's 403). A missing privilege anywhere in the chain decides, since it is the
 * one thing to fix; otherwise the outermost error that has a known code does.
 */
export interface AgentExit {
  exitCode: ExitCode;
  /** One line for stderr: what is wrong, the error's own words, and what to do. */
  message: string;
  /** The code that decided, e.g. EGW_ERRNO/EPERM; null when nothing in the chain was known. */
  reason: string | null;
}

interface Verdict {
  exitCode: ExitCode;
  summary: string;
  hint?: string;
}

/** Codes of egressgw's own errors (host/agent, config, k8s, election, net, dataplane). */
const byCode: Readonly<Record<string, Verdict>> = {
  // Bad flags or inputs.
  EGW_AGENT_CONFIG: { exitCode: exitCodes.usage, summary: 'bad configuration' },
  EGW_ELECTION_CONFIG: { exitCode: exitCodes.usage, summary: 'bad election settings' },
  EGW_CONFIG_MISSING: { exitCode: exitCodes.usage, summary: 'the --config file is missing' },
  EGW_CONFIG_UNREADABLE: { exitCode: exitCodes.usage, summary: 'the --config file is unreadable' },
  EGW_CONFIG_TOO_LARGE: { exitCode: exitCodes.usage, summary: 'the --config file is too large' },
  EGW_CONFIG_SYNTAX: { exitCode: exitCodes.usage, summary: 'the --config file is not valid YAML' },
  EGW_CONFIG_WATCH: {
    exitCode: exitCodes.unavailable,
    summary: "the --config file's directory cannot be watched",
  },
  EGW_KUBECONFIG: {
    exitCode: exitCodes.usage,
    summary: 'no usable kubeconfig',
    hint: 'give --kubeconfig FILE, or run in a pod with --in-cluster',
  },
  EGW_CORE_CONFIG: { exitCode: exitCodes.usage, summary: 'the core refused its settings' },
  EGW_NATIVE_ARGUMENT: { exitCode: exitCodes.usage, summary: 'bad argument' },
  EGW_METRICS_BAD_INPUT: { exitCode: exitCodes.usage, summary: 'bad metrics settings' },
  EGW_BAD_IP: { exitCode: exitCodes.usage, summary: 'bad address' },
  EGW_BAD_CIDR: { exitCode: exitCodes.usage, summary: 'bad CIDR' },
  EGW_BAD_RANGE: { exitCode: exitCodes.usage, summary: 'bad address range' },
  EGW_BAD_PORT_RANGE: { exitCode: exitCodes.usage, summary: 'bad port range' },
  // Something needed is not there.
  EGW_CORE_MISSING: {
    exitCode: exitCodes.unavailable,
    summary: 'the packet core is missing',
    hint: 'run npm run build:core',
  },
  EGW_CORE_MEMORY: {
    exitCode: exitCodes.unavailable,
    summary: 'not enough memory for the flow table',
    hint: 'lower --max-flows or raise the memory limit',
  },
  EGW_NET_COMMAND_MISSING: {
    exitCode: exitCodes.unavailable,
    summary: 'a program egressgw runs is not installed',
    hint: 'install iproute2 and nftables',
  },
  EGW_NET_NO_LINK: { exitCode: exitCodes.unavailable, summary: 'a network device is missing' },
  EGW_NET_NO_ADDRESS: { exitCode: exitCodes.unavailable, summary: 'a network address is missing' },
  EGW_NET_SYSCTL: {
    exitCode: exitCodes.unavailable,
    summary: 'a kernel setting is missing or cannot be written',
    hint: "in a container, mount the node's /proc/sys/net and give --proc-sys-root",
  },
  EGW_SYNC_TIMEOUT: {
    exitCode: exitCodes.unavailable,
    summary: 'no full view of the cluster in time',
    hint: 'check the API server and that the CRDs are installed',
  },
  EGW_K8S_REQUEST: { exitCode: exitCodes.unavailable, summary: 'the API server failed a request' },
  EGW_LEASE_UNAVAILABLE: { exitCode: exitCodes.unavailable, summary: 'the Lease store failed' },
  EGW_TUN_GONE: { exitCode: exitCodes.unavailable, summary: 'the TUN device is gone' },
};

const tunHint = 'load the tun module (modprobe tun); in a pod, mount /dev/net/tun from the host';
const privilegeHint = 'run as root with CAP_NET_ADMIN and CAP_NET_RAW';

/** errno names of system calls (ErrnoError's errnoName, Node's string `code`). */
const byErrno: Readonly<Record<string, Verdict>> = {
  EPERM: { exitCode: exitCodes.noPermission, summary: 'no permission', hint: privilegeHint },
  EACCES: { exitCode: exitCodes.noPermission, summary: 'no permission', hint: privilegeHint },
  EROFS: {
    exitCode: exitCodes.noPermission,
    summary: 'a read-only file system',
    hint: 'give --state-dir and --proc-sys-root on writable mounts',
  },
  ENOENT: { exitCode: exitCodes.unavailable, summary: 'not found' },
  ENODEV: { exitCode: exitCodes.unavailable, summary: 'no such device', hint: tunHint },
  ENXIO: { exitCode: exitCodes.unavailable, summary: 'no such device', hint: tunHint },
  EADDRINUSE: { exitCode: exitCodes.unavailable, summary: 'the port is taken' },
  EADDRNOTAVAIL: {
    exitCode: exitCodes.usage,
    summary: 'the address is not on this node',
    hint: 'check --heartbeat-address and --metrics-host',
  },
  ECONNREFUSED: { exitCode: exitCodes.unavailable, summary: 'connection refused' },
  ETIMEDOUT: { exitCode: exitCodes.unavailable, summary: 'timed out' },
  EHOSTUNREACH: { exitCode: exitCodes.unavailable, summary: 'host unreachable' },
  ENOTFOUND: { exitCode: exitCodes.unavailable, summary: 'name not found' },
};

/** The failing system call on the TUN device node says more than its errno alone. */
function tunVerdict(errnoName: string, detail: string): Verdict | undefined {
  if (!detail.includes('/dev/net/tun') && !detail.includes('0x400454ca')) return undefined;
  if (errnoName === 'EPERM' || errnoName === 'EACCES') {
    return {
      exitCode: exitCodes.noPermission,
      summary: 'no permission to create the TUN device',
      hint: 'it needs CAP_NET_ADMIN (the DaemonSet adds NET_ADMIN and NET_RAW)',
    };
  }
  if (errnoName === 'ENOENT' || errnoName === 'ENODEV' || errnoName === 'ENXIO') {
    return { exitCode: exitCodes.unavailable, summary: 'no /dev/net/tun', hint: tunHint };
  }
  return undefined;
}

interface ErrorFields {
  code?: unknown;
  errnoName?: unknown;
  syscall?: unknown;
  message?: unknown;
  httpStatus?: unknown;
  statusCode?: unknown;
  cause?: unknown;
}

function fieldsOf(error: unknown): ErrorFields {
  return error !== null && typeof error === 'object' ? (error as ErrorFields) : {};
}

/** An HTTP status carried by a KubeError (httpStatus) or client-node (code, statusCode). */
function httpStatus(fields: ErrorFields): number | undefined {
  for (const value of [fields.httpStatus, fields.statusCode, fields.code]) {
    if (typeof value === 'number' && value >= 100 && value <= 599) return value;
  }
  return undefined;
}

function classify(error: unknown): { verdict: Verdict; reason: string } | null {
  const fields = fieldsOf(error);
  const status = httpStatus(fields);
  if (status === 401 || status === 403) {
    return {
      verdict: {
        exitCode: exitCodes.noPermission,
        summary: `the API server refused access (HTTP ${status})`,
        hint: "check the ServiceAccount's RBAC (deploy/manifests)",
      },
      reason: `HTTP ${status}`,
    };
  }
  const code = typeof fields.code === 'string' ? fields.code : undefined;
  if (code === 'EGW_ERRNO' && typeof fields.errnoName === 'string') {
    const name = fields.errnoName;
    const detail = typeof fields.message === 'string' ? fields.message : '';
    const verdict = tunVerdict(name, detail) ?? byErrno[name];
    return verdict === undefined ? null : { verdict, reason: `EGW_ERRNO/${name}` };
  }
  if (code === undefined) {
    if (status !== undefined) {
      return {
        verdict: { exitCode: exitCodes.unavailable, summary: `the API server answered ${status}` },
        reason: `HTTP ${status}`,
      };
    }
    return null;
  }
  const verdict = Object.hasOwn(byCode, code)
    ? byCode[code]
    : Object.hasOwn(byErrno, code)
      ? byErrno[code]
      : undefined;
  return verdict === undefined ? null : { verdict, reason: code };
}

/** The error and its causes, outermost first; cycles and very deep chains are cut off. */
function causeChain(error: unknown): unknown[] {
  const chain: unknown[] = [];
  let current: unknown = error;
  while (current !== undefined && current !== null && chain.length < 8) {
    if (chain.includes(current)) break;
    chain.push(current);
    current = fieldsOf(current).cause;
  }
  return chain;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function messageOf(error: unknown): string {
  const message = fieldsOf(error).message;
  return oneLine(typeof message === 'string' && message !== '' ? message : String(error));
}

export function agentStartupExit(error: unknown): AgentExit {
  const chain = causeChain(error);
  const found = chain.map((e) => ({ error: e, match: classify(e) }));
  const decisive =
    found.find((f) => f.match?.verdict.exitCode === exitCodes.noPermission) ??
    found.find((f) => f.match !== null);
  const outer = messageOf(error);
  if (decisive === undefined || decisive.match === null) {
    return { exitCode: exitCodes.failure, message: `could not start: ${outer}`, reason: null };
  }
  const { verdict, reason } = decisive.match;
  const inner = decisive.error === error ? '' : messageOf(decisive.error);
  const detail = inner === '' || outer.includes(inner) ? outer : `${outer} (${inner})`;
  const hint = verdict.hint === undefined ? '' : `; ${verdict.hint}`;
  return {
    exitCode: verdict.exitCode,
    message: `could not start: ${verdict.summary}: ${detail}${hint}`,
    reason,
  };
}
