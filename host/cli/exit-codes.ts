/**
 * The exit codes of every egressgw command, one table so that scripts and unit files can
 * rely on them. They follow the common convention (0 ok, 1 failure, 2 usage, as grep,
 * diff and kubectl use them) and stay clear of 126 and up, which shells use for "cannot
 * execute" and for signals (128 + n).
 */
export const exitCodes = {
  /** Done; for `validate`: no errors (warnings may have been printed). */
  ok: 0,
  /** The command ran and found problems (`validate`), or the agent failed while running. */
  failure: 1,
  /** Bad flags or arguments, or an input file that cannot be read. */
  usage: 2,
  /** Something the command needs is not there: the API server, the TUN device, the core. */
  unavailable: 3,
  /** The command lacks a privilege it needs (CAP_NET_ADMIN for routes, nft and TUN). */
  noPermission: 4,
} as const;

export type ExitCode = (typeof exitCodes)[keyof typeof exitCodes];
