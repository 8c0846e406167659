/**
 * The sentinel that tells a dataplane loop to stop: the TUN device is gone (deleted, or
 * its descriptor closed), and no retry will bring this queue back. Linux answers EBADFD
 * on a queue whose device was deleted (measured: read, write and POLLERR after
 * `ip link del`); EBADF means the descriptor itself was closed.
 * A device that is merely down is not gone: reads see EAGAIN and writes EIO until it is
 * up again, so those are counted, not fatal.
 */
export class TunGoneError extends Error {
  readonly code = 'EGW_TUN_GONE';
  readonly device: string;

  constructor(device: string, reason: string) {
    super(`TUN device ${device} is gone: ${reason}`);
    this.name = 'TunGoneError';
    this.device = device;
  }
}

export function isTunGone(err: unknown): err is TunGoneError {
  return err instanceof TunGoneError;
}
