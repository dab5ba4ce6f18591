/**
 * The stream consumer in a worker thread (see `startDerivationWorker` in local/derivation.ts):
 * the consumer of `startDerivation` with services of its own, its stats published in shared
 * memory, `settle` and `stop` answered by message.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { coreServices } from '../lambdas/composition/dynamodb.js';
import { environmentConfig } from '../lambdas/composition/environment.js';
import {
  type DerivationReply,
  type DerivationRequest,
  type DerivationWorkerData,
  STATS_FIELDS,
  startDerivation,
} from './derivation.js';

const port = parentPort;
if (!port) throw new Error('local/derivation-worker.ts runs in a worker thread');
const data = workerData as DerivationWorkerData;
const published = new Float64Array(data.stats);
// The service's settings, handed over: a worker's own `process.env` is a copy of the process's real
// one, which a test sandbox (Jest) does not share.
const consumer = await startDerivation(data.emulators, data.names, coreServices(environmentConfig(data.env)));
const publish = () => {
  for (const [index, field] of STATS_FIELDS.entries()) published[index] = consumer.stats[field];
};
// Often enough for a reader watching the consumer's progress; `settle` publishes before answering.
const publisher = setInterval(publish, 50);
const reply = (message: DerivationReply) => port.postMessage(message);
port.on('message', (request: DerivationRequest) => {
  if (request.type === 'settle') {
    void consumer.settle().then(() => {
      publish();
      reply({ type: 'settled', id: request.id });
    });
    return;
  }
  clearInterval(publisher);
  void consumer.stop().then(() => {
    publish();
    reply({ type: 'stopped' });
  });
});
reply({ type: 'ready' });
