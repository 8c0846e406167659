import type { ConfigProblem } from './problem.ts';

/**
 * Why a configuration file gave no snapshot. Callers (the agent, `egressgw validate`)
 * match on `code`, never on the message.
 */
export type ConfigErrorCode =
  /** The file does not exist (yet, or any more). */
  | 'EGW_CONFIG_MISSING'
  /** The file exists but cannot be read: permissions, a directory, an I/O error. */
  | 'EGW_CONFIG_UNREADABLE'
  /** The file is larger than a configuration can sensibly be (see read-config-file.ts). */
  | 'EGW_CONFIG_TOO_LARGE'
  /** The YAML text has errors (syntax, a document that is not an object); `problems` says where. */
  | 'EGW_CONFIG_SYNTAX'
  /** The file's directory cannot be watched, so changes would go unseen. */
  | 'EGW_CONFIG_WATCH';

export class ConfigError extends Error {
  readonly code: ConfigErrorCode;
  readonly file: string;
  /** The errors of the YAML text for EGW_CONFIG_SYNTAX, else empty. */
  readonly problems: readonly ConfigProblem[];

  constructor(
    code: ConfigErrorCode,
    file: string,
    message: string,
    opts: { problems?: readonly ConfigProblem[]; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ConfigError';
    this.code = code;
    this.file = file;
    this.problems = opts.problems ?? [];
  }
}
