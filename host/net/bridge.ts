import { NetCommandError, type NetContext, parseJsonOutput } from './exec.ts';

/**
 * Typed wrapper over iproute2's `bridge` tool for forwarding (fdb) entries: one read with
 * `bridge -j fdb show dev NAME`, every change in one `bridge -batch -`, like ip.ts.
 */

/**
 * One entry of `bridge -j fdb show dev NAME` (the device is implied by the filter). On a
 * VXLAN device the driver's own entries carry `self` and a `dst`; a bridge the device is
 * enslaved to adds entries of its own (no `self`, `master` set, no `dst`).
 */
export interface BridgeFdbJson {
  mac: string;
  /** Remote VTEP address (VXLAN entries only). */
  dst?: string;
  /** Only when it differs from the device's destination port. */
  port?: number;
  /** Only when it differs from the device's VNI. */
  vni?: number;
  /** The underlay device the entry is pinned to (`via DEV`). */
  viaIf?: string;
  master?: string;
  flags: string[];
  /** Lower-case: "permanent", "static", or absent for learned entries. */
  state?: string;
  [field: string]: unknown;
}

function bridgeArgv(context: NetContext, args: readonly string[]): string[] {
  return context.netns === null ? ['bridge', ...args] : ['bridge', '-n', context.netns, ...args];
}

/** The forwarding entries of one device. */
export async function listFdb(context: NetContext, dev: string): Promise<BridgeFdbJson[]> {
  const argv = bridgeArgv(context, ['-j', 'fdb', 'show', 'dev', dev]);
  const { stdout } = await context.exec(argv);
  const value = stdout.trim() === '' ? [] : parseJsonOutput(argv, stdout);
  const valid =
    Array.isArray(value) &&
    value.every(
      (item: unknown) =>
        typeof item === 'object' &&
        item !== null &&
        typeof (item as Record<string, unknown>)['mac'] === 'string' &&
        Array.isArray((item as Record<string, unknown>)['flags']),
    );
  if (!valid) {
    throw new NetCommandError(
      'EGW_NET_BAD_OUTPUT',
      argv,
      0,
      '',
      'expected a JSON array of fdb entries with mac and flags',
    );
  }
  return value as BridgeFdbJson[];
}

/** Runs `bridge -batch -` with one command per line (without the leading `bridge`). */
export async function bridgeBatch(context: NetContext, lines: readonly string[]): Promise<void> {
  if (lines.length === 0) return;
  for (const line of lines) {
    if (line.includes('\n')) throw new Error(`bridge batch line contains a newline: ${line}`);
  }
  await context.exec(bridgeArgv(context, ['-batch', '-']), { input: `${lines.join('\n')}\n` });
}
