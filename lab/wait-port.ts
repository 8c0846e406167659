/**
 * Waiting until something listens on a port inside a namespace, by asking the socket
 * table (`ss`) there, so that no probe traffic disturbs the server or its counters.
 */

import { LabError } from './errors.ts';
import { runInNetns } from './exec.ts';

export type Transport = 'tcp' | 'udp';

const POLL_MS = 20;

export async function waitForPort(
  netns: string,
  transport: Transport,
  port: number,
  timeoutMs = 5_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const flag = transport === 'tcp' ? '-Hltn' : '-Hlun';
  for (;;) {
    const result = await runInNetns(netns, ['ss', flag, 'sport', '=', `:${port}`]);
    if (result.stdout.trim() !== '') return;
    if (Date.now() >= deadline) {
      throw new LabError(
        'EGW_LAB_TIMEOUT',
        `nothing listens on ${transport} port ${port} in ${netns} after ${timeoutMs} ms`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
