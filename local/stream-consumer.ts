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
  /**
   * While records keep coming, the longest time between two listings of the stream's shards
   * (DescribeStream, which costs as much as a read): a quiet poll and a finished shard list them
   * at once, so this only bounds how late a new shard that opens beside busy ones is seen.
   */
  readonly refreshMs?: number;
  /** Pause before retrying a batch that failed. */
  readonly retryMs?: number;
  /** Where each shard was left, so a restarted stack resumes after it (persisted data). */
  readonly checkpoints?: {
    load(shardId: string): Promise<string | undefined>;
    save(shardId: string, sequenceNumber: string): Promise<void>;
  };
  /**
   * Told about a failure, to log it: of reading or handling a batch (`'batch'`, retried) or of saving a shard's
   * position (`'position'`, harmless: the next save overwrites it, and the journal skips batches
   * done behind an older position).
   */
  readonly onError?: (error: unknown, during: 'batch' | 'position') => void;
}

/** What the consumer did so far, and where its time went (for the load test's report). */
export interface LocalStreamConsumerStats {
  /** Records handled (a record of a batch retried counts once, when it succeeds). */
  handled: number;
  /** Batches delivered, retries included. */
  batches: number;
  /** Deliveries that failed (threw or answered `resumeAt`) and were retried. */
  failures: number;
  /** Batches read while the batch before them was handled. */
  readAhead: number;
  /** Time (ms) spent in `handle`, summed over shards. */
  handleMs: number;
  /**
   * Time (ms) a shard waited for its next batch of records to arrive from the stream, summed over
   * shards: the part of each read not hidden behind the handling of the batch before it.
   */
  readWaitMs: number;
}

/** The local stand-in for Lambda's event source mapping on the events table's stream. */
export interface LocalStreamConsumer {
  /** Resolves once every change written before the call has been handled. */
  settle(): Promise<void>;
  readonly stats: LocalStreamConsumerStats;
  stop(): Promise<void>;
}

/** A read of a shard's next records: its answer, or what it threw. */
type Read = { readonly output: GetRecordsCommandOutput } | { readonly error: unknown };

interface ShardState {
  readonly shardId: string;
  readonly parentId?: string;
  iterator?: string;
  /** The read of the records after the batch being handled, started before handling it. */
  ahead?: Promise<Read>;
  /** The last sequence number handled. */
  position?: string;
  closed: boolean;
}

/**
 * Polls DynamoDB Local's stream and feeds each shard's records to `handle` in order, in batches,
 * with Lambda's semantics: a batch that answers `resumeAt` is retried from that record, a batch
 * that throws is retried whole after a pause, and a shard's children start when it is finished.
 * As Lambda's event source mapping does, it handles different shards side by side (one batch per
 * shard at a time) and reads a shard's next batch while the current one is handled: a batch that
 * fails throws that read away and reads again from where the retry starts.
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
  const refreshMs = options.refreshMs ?? 1000;
  let quietPause = idleMs;
  let wake: (() => void) | undefined;
  const wakeUp = () => {
    quietPause = idleMs;
    wake?.();
  };
  const retryMs = options.retryMs ?? 200;
  const shards = new Map<string, ShardState>();
  const stats: LocalStreamConsumerStats = {
    handled: 0,
    batches: 0,
    failures: 0,
    readAhead: 0,
    handleMs: 0,
    readWaitMs: 0,
  };
  let stopped = false;
  let cycle = 0;
  const waiters: { afterCycle: number; resolve: () => void }[] = [];
  /** When the shards were last listed; 0: list them in the next cycle. */
  let listedAt = 0;
  /** The stream positions being saved, one after another (a later one never lands first). */
  let saving: Promise<void> = Promise.resolve();

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

  const read = (iterator: string): Promise<Read> =>
    client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: batchSize })).then(
      (output) => ({ output }),
      (error: unknown) => ({ error }),
    );

  /** Forgets the shard's read ahead and iterator: the next poll reads from `at` (or its position). */
  const seek = async (state: ShardState, at?: string) => {
    state.ahead = undefined;
    state.iterator = await iteratorFor(state, at);
  };

  /**
   * Handles one batch of a shard; true when the shard had records, or when its answer was read
   * before this poll (then only a fresh read can say the shard is quiet).
   */
  const pollShard = async (state: ShardState): Promise<boolean> => {
    const parent = state.parentId ? shards.get(state.parentId) : undefined;
    if (parent && !parent.closed) return false;
    const early = state.ahead;
    state.ahead = undefined;
    if (!early) {
      state.iterator ??= await iteratorFor(state);
      if (!state.iterator) {
        state.closed = true;
        listedAt = 0;
        return false;
      }
    }
    const waited = performance.now();
    const answer = await (early ?? read(state.iterator as string));
    stats.readWaitMs += performance.now() - waited;
    if ('error' in answer) {
      if (
        answer.error instanceof ExpiredIteratorException ||
        answer.error instanceof TrimmedDataAccessException
      ) {
        state.iterator = undefined;
        return true;
      }
      throw answer.error;
    }
    const { output } = answer;
    const raw = (output.Records ?? []) as RawStreamRecord[];
    if (raw.length === 0) {
      if (!output.NextShardIterator) {
        state.closed = true;
        listedAt = 0;
      } else state.iterator = output.NextShardIterator;
      return early !== undefined;
    }
    const records = raw.map(changeRecordOf);
    if (early) stats.readAhead += 1;
    // The next batch is read while this one is handled (Lambda's poller reads ahead too); a batch
    // short of `batchSize` reached the shard's end, where a read now would find little or nothing.
    const next = output.NextShardIterator;
    if (next && raw.length >= batchSize) state.ahead = read(next);
    stats.batches += 1;
    let outcome: { readonly resumeAt?: string };
    const handling = performance.now();
    try {
      outcome = await options.handle(records);
    } catch (error) {
      // A function error: the same batch again, from the same place, after a pause.
      stats.handleMs += performance.now() - handling;
      stats.failures += 1;
      options.onError?.(error, 'batch');
      await seek(state);
      await pause(retryMs);
      return true;
    }
    stats.handleMs += performance.now() - handling;
    if (outcome.resumeAt !== undefined) {
      stats.failures += 1;
      const done = records.findIndex((record) => record.sequenceNumber === outcome.resumeAt);
      stats.handled += Math.max(0, done);
      const last = done > 0 ? records[done - 1] : undefined;
      if (last) checkpoint(state, last.sequenceNumber);
      await seek(state, outcome.resumeAt);
      await pause(retryMs);
      return true;
    }
    stats.handled += records.length;
    checkpoint(state, (records[records.length - 1] as ChangeRecord).sequenceNumber);
    state.iterator = next;
    if (!next) {
      state.closed = true;
      listedAt = 0;
    }
    return true;
  };

  /**
   * Records the shard's position and saves it behind the work, not in its way: the saved position
   * only tells a restarted stack where to resume (a later save overwrites an earlier one; one
   * that fails is reported and leaves a position behind, whose batches the journal then skips).
   */
  const checkpoint = (state: ShardState, sequenceNumber: string) => {
    state.position = sequenceNumber;
    const save = options.checkpoints?.save;
    if (!save) return;
    saving = saving
      .then(() => save(state.shardId, sequenceNumber))
      .catch((error: unknown) => {
        options.onError?.(error, 'position');
      });
  };

  const loop = (async () => {
    let idle = true;
    while (!stopped) {
      const started = cycle;
      let busy = false;
      // Listed after a cycle that found nothing (so a quiet cycle is always one that listed them
      // first), when a shard finished (its children start), and every `refreshMs` while busy.
      const listed = idle || listedAt === 0 || performance.now() - listedAt >= refreshMs;
      try {
        if (listed) {
          listedAt = performance.now();
          await refreshShards();
        }
        const open = [...shards.values()].filter((state) => !state.closed);
        const polls = await Promise.allSettled(open.map((state) => pollShard(state)));
        for (const poll of polls) {
          if (poll.status === 'fulfilled') busy ||= poll.value;
          else {
            busy = true;
            options.onError?.(poll.reason, 'batch');
          }
        }
        if (polls.some((poll) => poll.status === 'rejected')) await pause(retryMs);
      } catch (error) {
        busy = true;
        options.onError?.(error, 'batch');
        await pause(retryMs);
      }
      cycle = started + 1;
      idle = !busy;
      // A cycle that found nothing without listing the shards first may have missed a new one:
      // the next cycle, at once, lists them.
      if (busy || !listed) quietPause = idleMs;
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
      // Reads started ahead settle before the client goes (their answers are not used).
      await Promise.all([...shards.values()].map((state) => state.ahead));
      await saving;
      for (const waiter of waiters.splice(0)) waiter.resolve();
      client.destroy();
    },
  };
};

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
