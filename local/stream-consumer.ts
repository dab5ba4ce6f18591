import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  ExpiredIteratorException,
  GetRecordsCommand,
  type GetRecordsCommandOutput,
  GetShardIteratorCommand,
  type Shard,
  TrimmedDataAccessException,
} from '@aws-sdk/client-dynamodb-streams';
import { dynamoDbLocalCredentials } from '../lambdas/adapters/aws-clients.js';
import { changeRecordOf, type RawStreamRecord } from '../lambdas/adapters/stream-records.js';
import type { ChangeRecord } from '../lambdas/ports/derivation.js';

/** What the consumer hands each batch to, answering like the Lambda handler does. */
export type StreamBatchHandler = (
  records: readonly ChangeRecord[],
) => Promise<{ readonly resumeAt?: string }>;

export interface LocalStreamConsumerOptions {
  readonly endpoint: string;
  /** DynamoDB Local's credentials; the access key id names the database that holds the table. */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly streamArn: string;
  readonly handle: StreamBatchHandler;
  /** Records per batch (Lambda's BatchSize). */
  readonly batchSize?: number;
  /** Pause after the first quiet poll; it doubles while the stream stays quiet. */
  readonly idleMs?: number;
  /**
   * The longest pause between quiet polls. DynamoDB Local's GetRecords costs time in proportion to
   * every stream record it holds (measured: 5 ms empty, 39 ms at 60,000 records), so a fast idle
   * poll would load the emulator; `settle()` wakes the consumer at once.
   */
  readonly maxIdleMs?: number;
  /** Pause before retrying a batch that failed. */
  readonly retryMs?: number;
  /** Where each shard was left, so a restarted stack resumes after it (persisted data). */
  readonly checkpoints?: {
    load(shardId: string): Promise<string | undefined>;
    save(shardId: string, sequenceNumber: string): Promise<void>;
  };
  /** Told about a batch that failed (to log it). */
  readonly onError?: (error: unknown) => void;
}

/** The local stand-in for Lambda's event source mapping on the events table's stream. */
export interface LocalStreamConsumer {
  /** Resolves once every change written before the call has been handled. */
  settle(): Promise<void>;
  /** Records handled so far, batches delivered, and deliveries that failed (retried). */
  readonly stats: { handled: number; batches: number; failures: number };
  stop(): Promise<void>;
}

interface ShardState {
  readonly shardId: string;
  readonly parentId?: string;
  iterator?: string;
  /** The last sequence number handled. */
  position?: string;
  closed: boolean;
}

/**
 * Polls DynamoDB Local's stream and feeds each shard's records to `handle` in order, in batches,
 * with Lambda's semantics: a batch that answers `resumeAt` is retried from that record, a batch
 * that throws is retried whole after a pause, and a shard's children start when it is finished.
 */
export const startStreamConsumer = (options: LocalStreamConsumerOptions): LocalStreamConsumer => {
  const client = new DynamoDBStreamsClient({
    endpoint: options.endpoint,
    region: 'us-east-1',
    credentials: options.credentials ?? dynamoDbLocalCredentials(),
  });
  const batchSize = options.batchSize ?? 100;
  const idleMs = options.idleMs ?? 50;
  const maxIdleMs = options.maxIdleMs ?? 1000;
  let quietPause = idleMs;
  let wake: (() => void) | undefined;
  const wakeUp = () => {
    quietPause = idleMs;
    wake?.();
  };
  const retryMs = options.retryMs ?? 200;
  const shards = new Map<string, ShardState>();
  const stats = { handled: 0, batches: 0, failures: 0 };
  let stopped = false;
  let cycle = 0;
  const waiters: { afterCycle: number; resolve: () => void }[] = [];

  const refreshShards = async () => {
    let exclusiveStart: string | undefined;
    do {
      const output = await client.send(
        new DescribeStreamCommand({ StreamArn: options.streamArn, ExclusiveStartShardId: exclusiveStart }),
      );
      for (const shard of output.StreamDescription?.Shards ?? []) await addShard(shard);
      exclusiveStart = output.StreamDescription?.LastEvaluatedShardId;
    } while (exclusiveStart);
  };

  const addShard = async (shard: Shard) => {
    if (!shard.ShardId || shards.has(shard.ShardId)) return;
    const position = await options.checkpoints?.load(shard.ShardId);
    shards.set(shard.ShardId, {
      shardId: shard.ShardId,
      ...(shard.ParentShardId ? { parentId: shard.ParentShardId } : {}),
      ...(position ? { position } : {}),
      closed: false,
    });
  };

  const iteratorFor = async (state: ShardState, at?: string): Promise<string | undefined> => {
    const output = await client.send(
      new GetShardIteratorCommand({
        StreamArn: options.streamArn,
        ShardId: state.shardId,
        ...(at
          ? { ShardIteratorType: 'AT_SEQUENCE_NUMBER', SequenceNumber: at }
          : state.position
            ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: state.position }
            : { ShardIteratorType: 'TRIM_HORIZON' }),
      }),
    );
    return output.ShardIterator;
  };

  /** Handles one batch of a shard; true when the shard had records. */
  const pollShard = async (state: ShardState): Promise<boolean> => {
    const parent = state.parentId ? shards.get(state.parentId) : undefined;
    if (parent && !parent.closed) return false;
    state.iterator ??= await iteratorFor(state);
    if (!state.iterator) {
      state.closed = true;
      return false;
    }
    let output: GetRecordsCommandOutput;
    try {
      output = await client.send(new GetRecordsCommand({ ShardIterator: state.iterator, Limit: batchSize }));
    } catch (error) {
      if (error instanceof ExpiredIteratorException || error instanceof TrimmedDataAccessException) {
        state.iterator = undefined;
        return true;
      }
      throw error;
    }
    const raw = (output.Records ?? []) as RawStreamRecord[];
    if (raw.length === 0) {
      if (!output.NextShardIterator) state.closed = true;
      else state.iterator = output.NextShardIterator;
      return false;
    }
    const records = raw.map(changeRecordOf);
    stats.batches += 1;
    let outcome: { readonly resumeAt?: string };
    try {
      outcome = await options.handle(records);
    } catch (error) {
      // A function error: the same batch again, from the same place, after a pause.
      stats.failures += 1;
      options.onError?.(error);
      state.iterator = await iteratorFor(state);
      await pause(retryMs);
      return true;
    }
    if (outcome.resumeAt !== undefined) {
      stats.failures += 1;
      const done = records.findIndex((record) => record.sequenceNumber === outcome.resumeAt);
      stats.handled += Math.max(0, done);
      const last = done > 0 ? records[done - 1] : undefined;
      if (last) await checkpoint(state, last.sequenceNumber);
      state.iterator = await iteratorFor(state, outcome.resumeAt);
      await pause(retryMs);
      return true;
    }
    stats.handled += records.length;
    await checkpoint(state, (records[records.length - 1] as ChangeRecord).sequenceNumber);
    state.iterator = output.NextShardIterator;
    if (!state.iterator) state.closed = true;
    return true;
  };

  const checkpoint = async (state: ShardState, sequenceNumber: string) => {
    state.position = sequenceNumber;
    await options.checkpoints?.save(state.shardId, sequenceNumber);
  };

  const loop = (async () => {
    while (!stopped) {
      const started = cycle;
      let busy = false;
      try {
        await refreshShards();
        for (const state of shards.values()) {
          if (stopped) break;
          if (!state.closed && (await pollShard(state))) busy = true;
        }
      } catch (error) {
        busy = true;
        options.onError?.(error);
        await pause(retryMs);
      }
      cycle = started + 1;
      if (busy) quietPause = idleMs;
      else {
        // A quiet cycle that began after a waiter arrived: everything written before it is handled.
        for (const waiter of waiters.splice(0)) {
          if (waiter.afterCycle < started) waiter.resolve();
          else waiters.push(waiter);
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, quietPause);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
        quietPause = Math.min(maxIdleMs, quietPause * 2);
      }
    }
  })();

  return {
    stats,
    settle: () =>
      new Promise<void>((resolve) => {
        waiters.push({ afterCycle: cycle, resolve });
        wakeUp();
      }),
    stop: async () => {
      stopped = true;
      wakeUp();
      await loop;
      for (const waiter of waiters.splice(0)) waiter.resolve();
      client.destroy();
    },
  };
};

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
