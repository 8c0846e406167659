import { constants } from 'node:os';

/**
 * The exit codes of every egressgw command, one table so that scripts and unit files can
 * rely on them. They follow the common convention (0 ok, 1 failure, 2 usage, as grep,
 * diff and kubectl use them) and stay clear of 126 and up, which shells use for "cannot
 * execute" and for signals (128 + n).
 *
 * `bench` and `demo` run a program as a child (lab-program.ts): 0 when it finished, 1
 * when it failed, 2 for bad flags, 3 when the program, the built core or a Node that
 * runs TypeScript is missing (the installed image has no bench/ or demo/), 4 when not
 * run as root, and 128 + n when signal n stopped it, as a shell reports a signal.
 *
 * `agent` exits 0 after SIGTERM or SIGINT and 1 when the dataplane fails while running.
 * When it cannot start, agent-exit.ts maps the error's code to 2 (bad flags, an unreadable
 * --config or heartbeat key), 3 (no /dev/net/tun, no core, no ip or nft, no API server
 * or CRDs) or 4 (no CAP_NET_ADMIN, or RBAC refused), and prints one line on stderr.
 */
export const exitCodes = {
  /** Done; for `validate`: no errors (warnings may have been printed). */
  ok: 0,
  /**
   * The command ran and found problems (`validate`), the agent failed while running, or
   * the benchmark or demo failed.
   */
  failure: 1,
  /** Bad flags or arguments, or an input file that cannot be read. */
  usage: 2,
  /**
   * Something the command needs is not there: the API server, the TUN device, the core;
   * for `bench` and `demo` also their programs (a source checkout) and Node 24.
   */
  unavailable: 3,
  /**
   * The command lacks a privilege it needs (CAP_NET_ADMIN for routes, nft and TUN; root
   * for the network namespaces of `bench` and `demo`).
   */
  noPermission: 4,
} as const;

export type ExitCode = (typeof exitCodes)[keyof typeof exitCodes];

/** 128 + the signal's number, what a shell reports for a process a signal ended. */
export function signalExitCode(signal: NodeJS.Signals): number {
  const number = constants.signals[signal];
  // Every name Node reports is in os.constants; the fallback only keeps this total.
  return number === undefined ? exitCodes.failure : 128 + number;
}
