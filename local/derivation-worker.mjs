// The derivation worker's entry: a worker thread does not inherit the TypeScript loader of the
// process that starts it (`node --import tsx`, or Jest's transform), so it registers tsx itself
// and then loads the worker's module (local/derivation-worker.ts).
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
