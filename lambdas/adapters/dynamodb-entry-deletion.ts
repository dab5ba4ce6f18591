import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { shardOf } from '../domain/hot-shards.js';
import { COUNTER_SHARDS } from '../domain/rollups.js';
import type { DeletionMarker, DeletionPlan, EntryDeletion, PurgeTarget } from '../ports/entry-deletion.js';
import type { ShardPlanSource } from '../ports/shard-plans.js';
import { type BackoffPolicy, backoffDelay, DEFAULT_BACKOFF, isThrottle } from './backoff.js';
import { batchWriteAll } from './dynamodb-batch-write.js';
import {
  type CounterItemDelta,
  counterItemDeltas,
  counterUpdate,
  MAX_TRANSACTION_ITEMS,
  type TransactItem,
} from './dynamodb-counters.js';
import type { DynamoDbEventStoreOptions } from './dynamodb-event-store.js';
import { eventKey, purgeCountedKey } from './dynamodb-keys.js';
import { CONTROL_KEYS } from './table-definitions.js';

/** Counter decrement chunks applied at once (they touch distinct items, so they do not conflict). */
const COUNT_CONCURRENCY = 4;

/** The event store's own options: the same tables, clock, randomness and retry budget. */
export type DynamoDbEntryDeletionOptions = DynamoDbEventStoreOptions;

/**
 * The event store's deleting side: entries of the events table and their rollup counters in the
 * control table (the same tables and layout as `DynamoDbEventStore`). A class of its own so that
 * only the purge functions carry it: every other handler bundles the event store without it.
 */
export class DynamoDbEntryDeletion implements EntryDeletion {
  readonly #doc: DynamoDBDocumentClient;
  readonly #eventsTable: string;
  readonly #controlTable: string;
  readonly #clock: () => number;
  readonly #random: () => number;
  readonly #backoff: BackoffPolicy;
  readonly #shardPlans: ShardPlanSource | undefined;

  constructor(doc: DynamoDBDocumentClient, options: DynamoDbEntryDeletionOptions) {
    this.#shardPlans = options.shardPlans;
    this.#doc = doc;
    this.#eventsTable = options.eventsTable;
    this.#controlTable = options.controlTable;
    this.#clock = options.clock ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.#backoff = options.backoff ?? DEFAULT_BACKOFF;
  }

  planDeletion(records: readonly PurgeTarget[]): DeletionPlan {
    // Readers add every shard up, so the decrements may land on any one of them.
    const shard = Math.floor(this.#random() * COUNTER_SHARDS);
    return {
      ids: records.map((record) => record.id),
      counters: counterItemDeltas(records, -1, shard).map(({ key, delta }) => ({
        pk: key[CONTROL_KEYS.partition],
        sk: key[CONTROL_KEYS.sort],
        delta,
      })),
    };
  }

  /**
   * Counter decrements in marked transactions of ≤ 99 counters (each chunk lands exactly once)
   * alongside BatchWriteItem deletes of the listed ids (idempotent, one call at a time): counting
   * and deleting are independent, so they run side by side.
   */
  async deleteEntries(tenant: string, plan: DeletionPlan, marker: DeletionMarker): Promise<void> {
    const chunks: CounterItemDelta[][] = [];
    for (let start = 0; start < plan.counters.length; start += MAX_TRANSACTION_ITEMS - 1) {
      chunks.push(
        plan.counters.slice(start, start + MAX_TRANSACTION_ITEMS - 1).map(({ pk, sk, delta }) => ({
          key: { [CONTROL_KEYS.partition]: pk, [CONTROL_KEYS.sort]: sk },
          delta,
        })),
      );
    }
    let next = 0;
    const countAll = async (): Promise<void> => {
      await Promise.all(
        Array.from({ length: Math.min(COUNT_CONCURRENCY, chunks.length) }, async () => {
          while (next < chunks.length) {
            const index = next++;
            await this.#countChunk(tenant, marker, chunks[index] ?? [], index);
          }
        }),
      );
    };
    // A hot tenant's entry lives in the write shard its id and the tenant's plans name.
    const deleteAll = async () => {
      const plans = this.#shardPlans ? await this.#shardPlans.plans(tenant) : [];
      await batchWriteAll(
        this.#doc,
        this.#eventsTable,
        plan.ids.map((id) => ({ DeleteRequest: { Key: eventKey(tenant, id, shardOf(id, plans)) } })),
        { backoff: this.#backoff, random: this.#random },
      );
    };
    const [countedAll, deletedAll] = await Promise.allSettled([countAll(), deleteAll()]);
    if (countedAll.status === 'rejected') throw countedAll.reason;
    if (deletedAll.status === 'rejected') throw deletedAll.reason;
  }

  /**
   * Applies one chunk of counter decrements together with the chunk's marker item, which must not
   * exist yet: a chunk replayed after a crash (or a lost answer) is refused, never applied twice.
   */
  async #countChunk(
    tenant: string,
    marker: DeletionMarker,
    chunk: readonly CounterItemDelta[],
    index: number,
  ): Promise<void> {
    const items: TransactItem[] = chunk.map((change) => counterUpdate(this.#controlTable, change));
    items.push({
      Put: {
        TableName: this.#controlTable,
        Item: {
          ...purgeCountedKey(tenant, marker.jobId, marker.segment, index),
          // Only needed until the segment is done; left to expire.
          [CONTROL_KEYS.ttl]: Math.floor(this.#clock() / 1000) + 30 * 86400,
        },
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': CONTROL_KEYS.partition },
      },
    });
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.#doc.send(new TransactWriteCommand({ TransactItems: items }));
        return;
      } catch (error) {
        if (!(error instanceof TransactionCanceledException) && !isThrottle(error)) throw error;
        const reasons =
          error instanceof TransactionCanceledException ? (error.CancellationReasons ?? []) : [];
        // Applied before (by an earlier attempt or runner): nothing more to do.
        if (reasons[items.length - 1]?.Code === 'ConditionalCheckFailed') return;
        // Counter items are shared with concurrent ingest: conflicts are retried after a pause.
        if (attempt >= this.#backoff.maxAttempts) throw error;
        await backoffDelay(this.#backoff, attempt, this.#random);
      }
    }
  }
}
