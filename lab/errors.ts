/**
 * Errors of the namespace lab. Callers match on `code`, never on the message.
 */

export type LabErrorCode =
  /** The LabSpec asks for something the lab cannot build (counts, MTUs, names). */
  | 'EGW_LAB_BAD_SPEC'
  /** A command (ip, nft, ethtool, ...) exited non-zero or could not start. */
  | 'EGW_LAB_COMMAND_FAILED'
  /** A build step failed; everything built so far has been torn down. */
  | 'EGW_LAB_BUILD_FAILED'
  /** A lab namespace holds a link to a namespace outside the lab, or a foreign device. */
  | 'EGW_LAB_NOT_ISOLATED'
  /** Something did not happen in time (port never opened, no reply). */
  | 'EGW_LAB_TIMEOUT'
  /** A tool printed something the parser does not understand. */
  | 'EGW_LAB_BAD_OUTPUT'
  /** A node, pod or namespace role that this lab does not have. */
  | 'EGW_LAB_UNKNOWN_NAME'
  /** The lab was torn down; nothing more can run in it. */
  | 'EGW_LAB_TORN_DOWN';

export class LabError extends Error {
  readonly code: LabErrorCode;

  constructor(code: LabErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LabError';
    this.code = code;
  }
}

/** A tool's JSON output (`what` names it in the message), or EGW_LAB_BAD_OUTPUT. */
export function parseToolJson(jsonText: string, what: string): unknown {
  try {
    return JSON.parse(jsonText);
  } catch (error) {
    throw new LabError(
      'EGW_LAB_BAD_OUTPUT',
      `${what} output is not JSON: ${jsonText.slice(0, 200)}`,
      {
        cause: error,
      },
    );
  }
}
