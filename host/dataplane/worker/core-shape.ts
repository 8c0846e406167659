import type { Core } from '../core.ts';

/**
 * What the worker loop needs from the packet core (core.ts): where a batch lives in the
 * shared memory (`layout`, see CoreLayout) and one call per batch. Narrowed to these two
 * members so the loop can be tested with a small fake core and a ChannelTun.
 */
export type BatchCore = Pick<Core, 'layout' | 'processBatch'>;
