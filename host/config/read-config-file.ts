import { open } from 'node:fs/promises';
import { ConfigError } from './errors.ts';

/**
 * Reads a configuration file as UTF-8, with the failures a caller acts on told apart:
 * missing (wait for it), unreadable (fix permissions), too large.
 */

/**
 * A cluster's worth of objects is well under a megabyte; 16 MiB stops a wrong path (a
 * disk image) from being read whole into memory. Devices and pipes (/dev/zero) report no
 * size, so only regular files are read at all.
 */
export const MAX_CONFIG_BYTES = 16 * 1024 * 1024;

function errnoOf(cause: unknown): string | undefined {
  const code = (cause as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Throws ConfigError EGW_CONFIG_MISSING, EGW_CONFIG_UNREADABLE or EGW_CONFIG_TOO_LARGE. */
export async function readConfigFile(file: string, maxBytes = MAX_CONFIG_BYTES): Promise<string> {
  try {
    const handle = await open(file, 'r');
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) {
        throw new ConfigError('EGW_CONFIG_UNREADABLE', file, `${file}: not a regular file`);
      }
      const { size } = stat;
      if (size > maxBytes) {
        throw new ConfigError(
          'EGW_CONFIG_TOO_LARGE',
          file,
          `${file}: ${size} bytes is more than the ${maxBytes} a configuration may have`,
        );
      }
      return await handle.readFile({ encoding: 'utf8' });
    } finally {
      await handle.close();
    }
  } catch (cause) {
    if (cause instanceof ConfigError) throw cause;
    const errno = errnoOf(cause);
    const reason = cause instanceof Error ? cause.message : String(cause);
    if (errno === 'ENOENT' || errno === 'ENOTDIR') {
      throw new ConfigError('EGW_CONFIG_MISSING', file, `${file}: no such file`, { cause });
    }
    throw new ConfigError('EGW_CONFIG_UNREADABLE', file, `${file}: cannot read: ${reason}`, {
      cause,
    });
  }
}
