/**
 * The base of egressgw's typed errors: a stable `code` that callers match on (never the
 * message), and the subclass's name as `name` for logs. Each module declares its codes
 * and one subclass: `export class CoreError extends CodedError<CoreErrorCode> {}`.
 */
export class CodedError<Code extends string> extends Error {
  readonly code: Code;

  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}
