import { Worker } from 'node:worker_threads';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { dynamoDbLocalCredentials } from '../lambdas/adapters/aws-clients.js';
import { streamCheckpointKey } from '../lambdas/adapters/dynamodb-keys.js';
import { log } from '../lambdas/adapters/log.js';
import { derivationDependencies } from '../lambdas/composition/derivation.js';
import type { Services } from '../lambdas/composition/dynamodb.js';
import { type DeriveDependencies, deriveChanges } from '../lambdas/use-cases/derive-changes.js';
import type { EmulatorEndpoints, ResourceNames } from './emulators.js';
import {
  type LocalStreamConsumer,
  type LocalStreamConsumerStats,
  startStreamConsumer,
} from './stream-consumer.js';

/**
 * Runs the stream consumer in this process, as the deployed stack's Lambda event source mapping
 * does: same handler code, same batch semantics, checkpoints kept in the control table so a
 * restarted stack on persisted data resumes where it stopped.
 */
export const startDerivation = async (
  emulators: EmulatorEndpoints,
  names: ResourceNames,
  services: Services,
  /** The derivation to run (the bench's runs one without the verifiable log beside one with it). */
  deps: DeriveDependencies = derivationDependencies(services.config),
): Promise<LocalStreamConsumer> => {
  const endpoint = emulators.dynamoDbEndpoint;
  const credentials = dynamoDbLocalCredentials(emulators.dynamoDbDatabase);
  const dynamo = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials });
  const { Table } = await dynamo.send(new DescribeTableCommand({ TableName: names.eventsTable }));
  dynamo.destroy();
  const streamArn = Table?.LatestStreamArn;
  if (!streamArn) throw new Error(`the events table ${names.eventsTable} has no stream`);
  return startStreamConsumer({
    endpoint,
    credentials,
    streamArn,
    // The deployed event source mapping's batch size (lib/parts/defaults.ts): a delivery's fixed
    // requests (GetRecords, the journal lookup, the stream position) are shared by 500 records.
    batchSize: 500,
    handle: async (records) => {
      const outcome = await deriveChanges(deps, records);
      return outcome.resumeAt !== undefined ? { resumeAt: outcome.resumeAt } : {};
    },
    checkpoints: {
      load: async (shardId) => {
        const output = await services.doc.send(
          new GetCommand({
            TableName: names.controlTable,
            Key: streamCheckpointKey(shardId),
            ConsistentRead: true,
          }),
        );
        return typeof output.Item?.position === 'string' ? output.Item.position : undefined;
      },
      save: async (shardId, position) => {
        await services.doc.send(
          new PutCommand({
            TableName: names.controlTable,
            Item: { ...streamCheckpointKey(shardId), position },
          }),
        );
      },
    },
    onError: (error, during) =>
      during === 'position'
        ? log.warn('local derivation could not save its stream position; the next save replaces it', {
            error: String(error),
          })
        : log.error('local derivation batch failed; retrying', { error: String(error) }),
  });
};

/** The consumer's stats, in the order the worker publishes them. */
export const STATS_FIELDS = [
  'handled',
  'batches',
  'failures',
  'readAhead',
  'handleMs',
  'readWaitMs',
] as const satisfies readonly (keyof LocalStreamConsumerStats)[];

/** What the derivation worker is started with. */
export interface DerivationWorkerData {
  /** The worker's TypeScript module, loaded by the JavaScript entry (local/derivation-worker.mjs). */
  readonly entry: string;
  readonly emulators: EmulatorEndpoints;
  readonly names: ResourceNames;
  /** The service's settings, as environment variables (what the handlers read). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Where the worker publishes its stats (Float64, in `STATS_FIELDS` order). */
  readonly stats: SharedArrayBuffer;
}

/** Messages to the worker. */
export type DerivationRequest = { readonly type: 'settle'; readonly id: number } | { readonly type: 'stop' };

/** Messages from the worker. */
export type DerivationReply =
  | { readonly type: 'ready' }
  | { readonly type: 'settled'; readonly id: number }
  | { readonly type: 'stopped' };

/**
 * Runs the stream consumer in a worker thread of this process, with clients and a derivation of
 * its own, configured by `env` (the environment the stack set for its handlers):
 * the same consumer as `startDerivation`, on an event loop of its own, so that requests served
 * by this process do not delay its every round trip (as on AWS, where it is a function of its own).
 * A worker that fails (it cannot start, or throws) is logged, and `settle()` rejects from then on.
 */
export const startDerivationWorker = async (
  emulators: EmulatorEndpoints,
  names: ResourceNames,
  env: Readonly<Record<string, string | undefined>>,
): Promise<LocalStreamConsumer> => {
  const buffer = new SharedArrayBuffer(Float64Array.BYTES_PER_ELEMENT * STATS_FIELDS.length);
  const published = new Float64Array(buffer);
  const data: DerivationWorkerData = {
    entry: new URL('./derivation-worker.ts', import.meta.url).href,
    // Only the endpoints: the emulators' handle (with `stop()`) stays with this thread.
    emulators: {
      dynamoDbEndpoint: emulators.dynamoDbEndpoint,
      s3Endpoint: emulators.s3Endpoint,
      ...(emulators.dynamoDbDatabase ? { dynamoDbDatabase: emulators.dynamoDbDatabase } : {}),
    },
    names: {
      eventsTable: names.eventsTable,
      controlTable: names.controlTable,
      exportsBucket: names.exportsBucket,
      archiveBucket: names.archiveBucket,
    },
    env: { ...env },
    stats: buffer,
  };
  const worker = new Worker(new URL('./derivation-worker.mjs', import.meta.url), { workerData: data });
  const settling = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  let nextId = 0;
  let failure: Error | undefined;
  let stopping = false;
  const fail = (error: Error) => {
    failure ??= error;
    for (const waiter of settling.values()) waiter.reject(error);
    settling.clear();
  };
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  let stopped: (() => void) | undefined;
  const ready = new Promise<void>((resolve, reject) => {
    worker.on('message', (reply: DerivationReply) => {
      if (reply.type === 'ready') resolve();
      else if (reply.type === 'stopped') stopped?.();
      else if (reply.type === 'settled') {
        settling.get(reply.id)?.resolve();
        settling.delete(reply.id);
      }
    });
    worker.on('error', (error) => {
      log.error('local derivation worker failed', { error: String(error) });
      fail(error);
      reject(error);
    });
    worker.on('exit', (code) => {
      const error = new Error(`the local derivation worker exited (code ${code})`);
      if (!stopping && !failure) log.error('local derivation worker exited', { code });
      fail(error);
      reject(error);
    });
  });
  await ready;
  const stats = Object.defineProperties(
    {},
    Object.fromEntries(
      STATS_FIELDS.map((field, index) => [field, { enumerable: true, get: () => published[index] ?? 0 }]),
    ),
  ) as LocalStreamConsumerStats;
  const send = (request: DerivationRequest) => worker.postMessage(request);
  return {
    stats,
    settle: () =>
      new Promise<void>((resolve, reject) => {
        if (failure) return reject(failure);
        const id = nextId++;
        settling.set(id, { resolve, reject });
        send({ type: 'settle', id });
      }),
    stop: async () => {
      if (!failure) {
        stopping = true;
        // The consumer finishes its batch and saves its position; then the thread goes (with the
        // clients' idle connections).
        const done = new Promise<void>((resolve) => {
          stopped = resolve;
        });
        send({ type: 'stop' });
        await Promise.race([done, exited]);
      }
      await worker.terminate();
      await exited;
    },
  };
};
