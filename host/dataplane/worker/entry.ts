import { parentPort, workerData } from 'node:worker_threads';
import { Core } from '../core.ts';
import { runWorker, type WorkerInit } from './run.ts';

// The dataplane worker thread: the compiled core against the shared memory, driving one
// TUN queue. Started by startDataplaneWorker (dataplane-worker.ts).
const end = runWorker(
  workerData as WorkerInit,
  (memory, module) => Core.attach(memory, module),
  parentPort,
);
parentPort?.postMessage({ type: 'ended', end });
