/**
 * A failed system call. Callers match on `code` ('EGW_ERRNO') and then on `errnoName`
 * ('EAGAIN', 'EBADFD', ...), never on the message.
 */
export class ErrnoError extends Error {
  readonly code = 'EGW_ERRNO';
  readonly errno: number;
  readonly errnoName: string;
  readonly syscall: string;

  constructor(syscall: string, errno: number, errnoName: string, detail?: string) {
    super(`${syscall}${detail ? ` (${detail})` : ''}: ${errnoName} (errno ${errno})`);
    this.name = 'ErrnoError';
    this.errno = errno;
    this.errnoName = errnoName;
    this.syscall = syscall;
  }
}

/** An argument the native layer refuses before any call is made. */
export class NativeArgumentError extends Error {
  readonly code = 'EGW_NATIVE_ARGUMENT';

  constructor(message: string) {
    super(message);
    this.name = 'NativeArgumentError';
  }
}
