import { parentPort, workerData } from 'node:worker_threads';
import { runWorker, type WorkerInit } from './run.ts';
import { attachReflector } from './test-reflector.ts';

// A dataplane worker thread with the reflector in place of the compiled core (tests and
// the TUN echo measurement). workerData.layout is required.
const init = workerData as WorkerInit;
const layout = init.layout;
if (!layout) throw new Error('the reflector worker needs workerData.layout');
const end = runWorker(init, (memory) => attachReflector(memory, layout), parentPort);
parentPort?.postMessage({ type: 'ended', end });
