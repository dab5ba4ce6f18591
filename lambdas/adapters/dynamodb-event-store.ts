import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { PartiallyWrittenError, TooManyRequestsError, UnstorableEventError } from '../domain/errors.js';
import { mergeShards, type ShardPlans, shardOf, shardsOver } from '../domain/hot-shards.js';
import { conditionalIdFor, conditionalRange, freeConditionalId, isSlotId } from '../domain/id-slots.js';
import { isEncodableTimestamp, timestampOfId } from '../domain/ids.js';
import { jsonValueProblem } from '../domain/json-values.js';
import { type AuditRecord, type EventDraft, sealRecord } from '../domain/record.js';
import type {
  AppendOptions,
  AppendResult,
  CountQuery,
  CountResult,
  EventStore,
  PageQuery,
  PageResult,
} from '../ports/event-store.js';
import type { IdSource } from '../ports/id-source.js';
import type { ShardPlanSource } from '../ports/shard-plans.js';
import { type BackoffPolicy, DEFAULT_BACKOFF } from './backoff.js';
import { batchWriteAll } from './dynamodb-batch-write.js';
import { DynamoDbIdSlotStore } from './dynamodb-id-slots.js';
import { actionPartition, actorPartition, apiCallPartition, eventsPartition } from './dynamodb-keys.js';
import {
  itemBytes,
  itemToRecord,
  MAX_ITEM_BYTES,
  MAX_PARTITION_KEY_BYTES,
  recordToItem,
} from './dynamodb-records.js';
import { SlotIdSource } from './slot-id-source.js';
import { EVENTS_KEYS } from './table-definitions.js';

/**
 * Runs `tasks` with at most `limit` at a time; every task runs even when others fail, their
 * failures collected in `failures` (so a caller can say exactly what was written).
 */
const runConcurrently = async (
  tasks: readonly (() => Promise<void>)[],
  limit: number,
  failures: unknown[],
): Promise<void> => {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, tasks.length) }, async () => {
      while (next < tasks.length) {
        const task = tasks[next] as () => Promise<void>;
        next += 1;
        try {
          await task();
        } catch (error) {
          failures.push(error);
        }
      }
    }),
  );
};

/** Entries per BatchWriteItem call (DynamoDB's limit). */
const BATCH_WRITE_ITEMS = 25;
/** BatchWriteItem calls one append keeps in flight (the bench's raw baseline matches it). */
export const WRITE_CONCURRENCY = 4;
/** Candidates a conditional id gets (each after a read of what is free) before the write gives up. */
const CONDITIONAL_ATTEMPTS = 8;

/** An entry's own turn among free ids (from its hash), so concurrent entries spread out. */
const spreadOf = (record: AuditRecord): number => Number.parseInt(record.hash.slice(0, 8), 16) || 0;

export interface DynamoDbEventStoreOptions {
  readonly eventsTable: string;
  readonly controlTable: string;
  /**
   * Where entry ids come from; default: a slot this store reserves in the control table (one
   * writer per store instance, so create the store once per container).
   */
  readonly ids?: IdSource;
  readonly clock?: () => number;
  readonly random?: () => number;
  readonly backoff?: BackoffPolicy;
  /** Hot tenants' write-shard plans (lambdas/domain/hot-shards.ts); without: one shard for all. */
  readonly shardPlans?: ShardPlanSource;
}

/**
 * The events table. Each entry is one plain write: entries with slot ids (nearly all) go in
 * BatchWriteItem calls, since no other writer can hold their ids; the rest (timestamps outside
 * the writer's reservation) are conditional puts. Rollup counters are not written here: they are
 * derived from the table's stream (lambdas/use-cases/derive-changes.ts).
 */
export class DynamoDbEventStore implements EventStore {
  readonly #doc: DynamoDBDocumentClient;
  readonly #eventsTable: string;
  readonly #ids: IdSource;
  readonly #clock: () => number;
  readonly #random: () => number;
  readonly #backoff: BackoffPolicy;
  readonly #shardPlans: ShardPlanSource | undefined;

  constructor(doc: DynamoDBDocumentClient, options: DynamoDbEventStoreOptions) {
    this.#doc = doc;
    this.#eventsTable = options.eventsTable;
    this.#shardPlans = options.shardPlans;
    this.#ids =
      options.ids ??
      new SlotIdSource(new DynamoDbIdSlotStore(doc, { controlTable: options.controlTable }), {
        ...(options.clock ? { clock: options.clock } : {}),
        ...(options.random ? { random: options.random } : {}),
      });
    this.#clock = options.clock ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.#backoff = options.backoff ?? DEFAULT_BACKOFF;
  }

  async reserveIds(drafts: readonly EventDraft[]): Promise<number[]> {
    this.#check(drafts);
    const assignments = await this.#ids.assign(drafts.map((draft) => draft.timestamp));
    return assignments.map((assignment) => assignment.id);
  }

  async append(
    tenant: string,
    drafts: readonly EventDraft[],
    options: AppendOptions = {},
  ): Promise<AppendResult> {
    if (options.ids && options.ids.length !== drafts.length) {
      throw new RangeError('ids must have one id per draft');
    }
    this.#check(drafts);
    // Every draft is checked before the first write: a draft the store cannot take fails the
    // whole batch here, not after other entries were written. First what would stop it being
    // sealed (RFC 8785), then, once sealed, the size of the very item that is written.
    for (const [index, draft] of drafts.entries()) {
      const problem = jsonValueProblem(draft, MAX_DRAFT_DEPTH);
      if (problem) throw new UnstorableEventError(index, problem.message, { path: problem.path });
    }
    const ids = options.ids ?? (await this.reserveIds(drafts));
    const plans = await this.#plans(tenant);
    const records = drafts.map((draft, index) => {
      const id = ids[index] as number;
      return sealRecord(tenant, id, timestampOfId(id), draft);
    });
    const items = records.map((record, index) => {
      const item = recordToItem(record, shardOf(record.id, plans));
      checkStorable(item, index);
      return item;
    });
    const plain = records.flatMap((record, index) => (isSlotId(record.id) ? [index] : []));
    const conditional = records.flatMap((record, index) => (isSlotId(record.id) ? [] : [index]));
    const written = new Set<number>();
    const failures: unknown[] = [];
    const batches: number[][] = [];
    for (let start = 0; start < plain.length; start += BATCH_WRITE_ITEMS) {
      batches.push(plain.slice(start, start + BATCH_WRITE_ITEMS));
    }
    await runConcurrently(
      [
        ...batches.map((batch) => async () => {
          await this.#batchWrite(batch.map((index) => items[index] as Record<string, unknown>));
          for (const index of batch) written.add((records[index] as AuditRecord).id);
        }),
        ...conditional.map((index) => async () => {
          records[index] = await this.#conditionalPut(
            records[index] as AuditRecord,
            drafts[index] as EventDraft,
          );
          written.add((records[index] as AuditRecord).id);
        }),
      ],
      WRITE_CONCURRENCY,
      failures,
    );
    if (failures.length > 0) {
      const stored = records.filter((record) => written.has(record.id)).map((record) => record.id);
      const cause = failures[0];
      // Only refusals the store classified (throttling past the budget) say for sure that the
      // rest was not written; any other failure leaves its batch's outcome unknown.
      const unknown = failures.find((failure) => !(failure instanceof TooManyRequestsError));
      if (unknown !== undefined) throw unknown;
      if (stored.length === 0) throw cause;
      // Some entries are stored for good: say exactly which, so nothing is lost silently.
      throw new PartiallyWrittenError(
        `The audit store is busy: only ${stored.length} of ${drafts.length} events were written (ids ${stored.join(', ')}); the others were not.`,
        { cause },
      );
    }
    return records;
  }

  #check(drafts: readonly EventDraft[]): void {
    for (const draft of drafts) {
      if (draft.timestamp !== undefined && !isEncodableTimestamp(draft.timestamp)) {
        throw new RangeError(`timestamp ${draft.timestamp} is outside the supported range`);
      }
    }
  }

  /** The tenant's write-shard plans (none without a plan source). */
  async #plans(tenant: string): Promise<ShardPlans> {
    return this.#shardPlans ? await this.#shardPlans.plans(tenant) : [];
  }

  /**
   * One BatchWriteItem call (25 entries' items, each in its write shard), what it leaves
   * unprocessed retried within the budget.
   */
  async #batchWrite(items: readonly Record<string, unknown>[]): Promise<void> {
    await batchWriteAll(
      this.#doc,
      this.#eventsTable,
      items.map((Item) => ({ PutRequest: { Item } })),
      { backoff: this.#backoff, random: this.#random },
    );
  }

  /**
   * Writes an entry whose id is a conditional candidate. When the id is taken, one consistent read
   * of the millisecond's conditional ids says by whom: an entry with the same hash is this one,
   * written by an earlier attempt; any other means another writer took the id, and the entry gets
   * one of the ids that read found free (not another blind draw, which fails more often the
   * fuller the millisecond: 8 blind draws lost ~1 batch in 11 at 240 entries in one millisecond).
   * A millisecond whose conditional ids are all taken moves a server-stamped entry on to the next
   * one; an entry with its own timestamp cannot move, and is refused (429) only then, or after
   * losing every one of its attempts to other writers.
   */
  async #conditionalPut(record: AuditRecord, draft: EventDraft): Promise<AuditRecord> {
    let candidate = record;
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.#doc.send(
          new PutCommand({
            TableName: this.#eventsTable,
            Item: recordToItem(candidate),
            ConditionExpression: 'attribute_not_exists(#id)',
            ExpressionAttributeNames: { '#id': EVENTS_KEYS.sort },
          }),
        );
        return candidate;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
      const taken = await this.#conditionalIdsAt(candidate.tenant, candidate.timestamp);
      if (taken.get(candidate.id) === candidate.hash) return candidate;
      if (attempt >= CONDITIONAL_ATTEMPTS) {
        throw new TooManyRequestsError(
          'The audit store is busy; other writers took every free id tried. Retry later.',
        );
      }
      let timestamp = candidate.timestamp;
      let id = freeConditionalId(timestamp, new Set(taken.keys()), this.#random, spreadOf(candidate));
      if (id === undefined) {
        if (draft.timestamp !== undefined) {
          throw new TooManyRequestsError(
            `Every id of millisecond ${timestamp} is taken; an event with that timestamp cannot be stored.`,
          );
        }
        timestamp += 1;
        id = conditionalIdFor(timestamp, this.#random);
      }
      candidate = sealRecord(candidate.tenant, id, timestamp, draft);
    }
  }

  /** The conditional ids stored at one millisecond of a tenant (shard 0), with their hashes. */
  async #conditionalIdsAt(tenant: string, timestamp: number): Promise<Map<number, unknown>> {
    const { first, last } = conditionalRange(timestamp);
    const taken = new Map<number, unknown>();
    let exclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const output = await this.#doc.send(
        new QueryCommand({
          TableName: this.#eventsTable,
          KeyConditionExpression: '#pk = :pk AND #id BETWEEN :first AND :last',
          ExpressionAttributeNames: {
            '#pk': EVENTS_KEYS.partition,
            '#id': EVENTS_KEYS.sort,
            '#hash': 'hash',
          },
          ExpressionAttributeValues: { ':pk': eventsPartition(tenant, 0), ':first': first, ':last': last },
          ProjectionExpression: '#id, #hash',
          ConsistentRead: true,
          ExclusiveStartKey: exclusiveStartKey,
        }),
      );
      for (const item of output.Items ?? []) taken.set(Number(item[EVENTS_KEYS.sort]), item.hash);
      exclusiveStartKey = output.LastEvaluatedKey;
    } while (exclusiveStartKey);
    return taken;
  }

  async queryPage(query: PageQuery): Promise<PageResult> {
    const shards = await this.#shardsOver(query);
    if (shards > 1) return this.#mergedPage(query, shards);
    const records: AuditRecord[] = [];
    let itemsRead = 0;
    let capacityUnits = 0;
    let exclusiveStartKey: Record<string, unknown> | undefined;
    if (query.minId > query.maxId || query.limit < 1) return { records, itemsRead, capacityUnits };
    do {
      const output = await this.#doc.send(
        new QueryCommand({
          ...this.#rangeQuery(query),
          Limit: query.limit - records.length,
          ExclusiveStartKey: exclusiveStartKey,
          ReturnConsumedCapacity: 'TOTAL',
          ...(query.consistent ? { ConsistentRead: true } : {}),
        }),
      );
      for (const item of output.Items ?? []) records.push(itemToRecord(item));
      itemsRead += output.ScannedCount ?? 0;
      capacityUnits += output.ConsumedCapacity?.CapacityUnits ?? 0;
      exclusiveStartKey = output.LastEvaluatedKey;
    } while (exclusiveStartKey && records.length < query.limit);
    return { records, itemsRead, capacityUnits };
  }

  async countEntries(query: CountQuery): Promise<CountResult> {
    const shards = await this.#shardsOver(query);
    if (shards > 1) return this.#mergedCount(query, shards);
    const limit = query.limit ?? Number.POSITIVE_INFINITY;
    let count = 0;
    let itemsRead = 0;
    let lastId: number | undefined;
    let exclusiveStartKey: Record<string, unknown> | undefined;
    if (query.minId > query.maxId || limit < 1) return { count, lastId, itemsRead };
    do {
      const output = await this.#doc.send(
        new QueryCommand({
          ...this.#rangeQuery(query),
          Select: 'COUNT',
          ...(Number.isFinite(limit) ? { Limit: limit - count } : {}),
          ExclusiveStartKey: exclusiveStartKey,
        }),
      );
      count += output.Count ?? 0;
      itemsRead += output.ScannedCount ?? 0;
      exclusiveStartKey = output.LastEvaluatedKey;
      // With a Limit, the last evaluated key is the last item counted.
      if (count >= limit && exclusiveStartKey) lastId = Number(exclusiveStartKey[EVENTS_KEYS.sort]);
    } while (exclusiveStartKey && count < limit);
    return { count, lastId, itemsRead };
  }

  /** How many write shards a query of this id range must read (1 for a tenant never sharded). */
  async #shardsOver(query: PageQuery | CountQuery): Promise<number> {
    if (query.minId > query.maxId) return 1;
    const plans = await this.#plans(query.tenant);
    return plans.length === 0
      ? 1
      : shardsOver(plans, timestampOfId(query.minId), timestampOfId(query.maxId), this.#clock());
  }

  /**
   * Reads `limit` ids or fewer of one write shard within [minId, maxId], strictly after `after`
   * and up to `bound` (in the query's order); pages past DynamoDB's 1 MB until it has an item or
   * the range ends. `more` is DynamoDB's own: a LastEvaluatedKey was returned.
   */
  async #readShard(
    query: PageQuery | CountQuery,
    shard: number,
    request: { after: number | undefined; bound: number | undefined; limit: number },
    idsOnly: boolean,
  ): Promise<{ items: Record<string, unknown>[]; more: boolean; itemsRead: number; capacityUnits: number }> {
    let minId = query.minId;
    let maxId = query.maxId;
    const { after, bound } = request;
    if (query.newestFirst) {
      if (after !== undefined) maxId = Math.min(maxId, after - 1);
      if (bound !== undefined) minId = Math.max(minId, bound);
    } else {
      if (after !== undefined) minId = Math.max(minId, after + 1);
      if (bound !== undefined) maxId = Math.min(maxId, bound);
    }
    const items: Record<string, unknown>[] = [];
    let itemsRead = 0;
    let capacityUnits = 0;
    if (minId > maxId) return { items, more: false, itemsRead, capacityUnits };
    let exclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const output = await this.#doc.send(
        new QueryCommand({
          ...this.#rangeQuery({ ...query, minId, maxId }, shard),
          Limit: request.limit,
          ExclusiveStartKey: exclusiveStartKey,
          ReturnConsumedCapacity: 'TOTAL',
          ...(idsOnly ? { ProjectionExpression: '#id' } : {}),
          ...('consistent' in query && query.consistent ? { ConsistentRead: true } : {}),
        }),
      );
      items.push(...(output.Items ?? []));
      itemsRead += output.ScannedCount ?? 0;
      capacityUnits += output.ConsumedCapacity?.CapacityUnits ?? 0;
      exclusiveStartKey = output.LastEvaluatedKey;
    } while (exclusiveStartKey && items.length === 0);
    return { items, more: exclusiveStartKey !== undefined, itemsRead, capacityUnits };
  }

  /** A hot tenant's page: its write shards merged in id order (lambdas/domain/hot-shards.ts). */
  async #mergedPage(query: PageQuery, shards: number): Promise<PageResult> {
    let itemsRead = 0;
    let capacityUnits = 0;
    const merged = await mergeShards<Record<string, unknown>>({
      shards,
      positions: query.shardPositions ?? [],
      limit: query.limit,
      newestFirst: query.newestFirst,
      idOf: (item) => Number(item[EVENTS_KEYS.sort]),
      read: async ({ shard, ...request }) => {
        const result = await this.#readShard(query, shard, request, false);
        itemsRead += result.itemsRead;
        capacityUnits += result.capacityUnits;
        return result;
      },
    });
    return {
      records: merged.items.map((item) => itemToRecord(item)),
      itemsRead,
      capacityUnits,
      shardPositions: merged.positions,
    };
  }

  /** A hot tenant's count: each shard's count added up, or the merged ids up to `limit`. */
  async #mergedCount(query: CountQuery, shards: number): Promise<CountResult> {
    let itemsRead = 0;
    if (query.limit === undefined) {
      const counts = await Promise.all(
        Array.from({ length: shards }, (_, shard) =>
          this.#countShard(query, shard).then((result) => {
            itemsRead += result.itemsRead;
            return result.count;
          }),
        ),
      );
      return { count: counts.reduce((sum, count) => sum + count, 0), lastId: undefined, itemsRead };
    }
    if (query.limit < 1) return { count: 0, lastId: undefined, itemsRead };
    const merged = await mergeShards<Record<string, unknown>>({
      shards,
      positions: [],
      limit: query.limit,
      newestFirst: query.newestFirst,
      idOf: (item) => Number(item[EVENTS_KEYS.sort]),
      read: async ({ shard, ...request }) => {
        const result = await this.#readShard(query, shard, request, true);
        itemsRead += result.itemsRead;
        return result;
      },
    });
    const count = merged.items.length;
    // As one partition's count: the last id only when the count stopped at the limit with more to come.
    const lastId =
      count >= query.limit && !merged.exhausted ? Number(merged.items.at(-1)?.[EVENTS_KEYS.sort]) : undefined;
    return { count, lastId, itemsRead };
  }

  async #countShard(query: CountQuery, shard: number): Promise<{ count: number; itemsRead: number }> {
    let count = 0;
    let itemsRead = 0;
    let exclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const output = await this.#doc.send(
        new QueryCommand({
          ...this.#rangeQuery(query, shard),
          Select: 'COUNT',
          ExclusiveStartKey: exclusiveStartKey,
        }),
      );
      count += output.Count ?? 0;
      itemsRead += output.ScannedCount ?? 0;
      exclusiveStartKey = output.LastEvaluatedKey;
    } while (exclusiveStartKey);
    return { count, itemsRead };
  }

  /** The table, index, key condition and order of an id-range query, shared by pages and counts. */
  #rangeQuery(query: PageQuery | CountQuery, shard = 0) {
    const { partitionName, partitionValue, indexName } = this.#partition(query, shard);
    return {
      TableName: this.#eventsTable,
      IndexName: indexName,
      KeyConditionExpression: '#pk = :pk AND #id BETWEEN :min AND :max',
      ExpressionAttributeNames: { '#pk': partitionName, '#id': EVENTS_KEYS.sort },
      ExpressionAttributeValues: { ':pk': partitionValue, ':min': query.minId, ':max': query.maxId },
      ScanIndexForward: !query.newestFirst,
    };
  }

  #partition(
    query: Pick<PageQuery, 'tenant' | 'selector'>,
    shard: number,
  ): {
    partitionName: string;
    partitionValue: string;
    indexName: string | undefined;
  } {
    switch (query.selector.kind) {
      case 'all':
        return {
          partitionName: EVENTS_KEYS.partition,
          partitionValue: eventsPartition(query.tenant, shard),
          indexName: undefined,
        };
      case 'action':
        return {
          partitionName: EVENTS_KEYS.actionKey,
          partitionValue: actionPartition(query.tenant, query.selector.action, shard),
          indexName: EVENTS_KEYS.actionIndex,
        };
      case 'actor':
        return {
          partitionName: EVENTS_KEYS.actorKey,
          partitionValue: actorPartition(query.tenant, query.selector.actor, shard),
          indexName: EVENTS_KEYS.actorIndex,
        };
      case 'apiCalls':
        return query.selector.actor === undefined
          ? {
              partitionName: EVENTS_KEYS.apiCallKey,
              partitionValue: apiCallPartition(query.tenant, shard),
              indexName: EVENTS_KEYS.apiCallIndex,
            }
          : {
              partitionName: EVENTS_KEYS.actorKey,
              partitionValue: actorPartition(query.tenant, query.selector.actor, shard),
              indexName: EVENTS_KEYS.actorIndex,
            };
    }
  }
}

/** Nesting a draft may have: `additional_information` (32 levels, validated) inside the event. */
const MAX_DRAFT_DEPTH = 40;

/**
 * Throws UnstorableEventError when the item of the draft at `index` cannot be stored: over
 * DynamoDB's 400 KB, or an index key over 2 KB. (What would stop a draft being sealed — a value
 * RFC 8785 cannot canonicalize: an unpaired surrogate, a non-finite number, nesting deep enough
 * to exhaust the stack — is found before, by the cheap walk of `jsonValueProblem`.) Validation
 * (lambdas/domain/event-schema.ts) refuses all of these first; this keeps the store all-or-nothing
 * for drafts from any writer.
 */
const checkStorable = (item: Record<string, unknown>, index: number): void => {
  const bytes = itemBytes(item);
  if (bytes > MAX_ITEM_BYTES) {
    throw new UnstorableEventError(
      index,
      `would be a ${bytes}-byte entry, over the store's limit of ${MAX_ITEM_BYTES} bytes`,
    );
  }
  for (const key of [EVENTS_KEYS.actionKey, EVENTS_KEYS.actorKey]) {
    const value = item[key];
    if (typeof value === 'string' && Buffer.byteLength(value, 'utf8') > MAX_PARTITION_KEY_BYTES) {
      throw new UnstorableEventError(
        index,
        `would have an index key (tenant#action type or tenant#actor) over ${MAX_PARTITION_KEY_BYTES} bytes`,
      );
    }
  }
};
