/**
 * Tears live labs down when the process ends abnormally: on SIGINT, SIGTERM and SIGHUP
 * (async teardown, then the signal's default action unless someone else handles it) and
 * on 'exit' (sync teardown: process.exit() from a runner or an uncaught error).
 * A SIGKILLed process runs nothing; removeLeftoverLabs() cleans up after it.
 *
 * Handlers are installed while at least one lab is live and removed after the last one.
 */

export interface Guarded {
  teardown(): Promise<void>;
  teardownSync(): void;
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const live = new Set<Guarded>();

function onExit(): void {
  for (const lab of live) lab.teardownSync();
  live.clear();
}

async function onSignal(signal: NodeJS.Signals): Promise<void> {
  const labs = [...live];
  uninstall();
  await Promise.allSettled(labs.map((lab) => lab.teardown()));
  live.clear();
  // Re-raise so that the default action (exit) happens, unless another handler owns it.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function install(): void {
  process.on('exit', onExit);
  for (const signal of SIGNALS) process.on(signal, onSignal);
}

function uninstall(): void {
  process.off('exit', onExit);
  for (const signal of SIGNALS) process.off(signal, onSignal);
}

/** Guards `lab` until the returned function is called (after its teardown). */
export function guardUntilTeardown(lab: Guarded): () => void {
  if (live.size === 0) install();
  live.add(lab);
  return () => {
    if (!live.delete(lab)) return;
    if (live.size === 0) uninstall();
  };
}
