import { randomUUID } from 'node:crypto';
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  type DynamoDBDocumentClient,
  QueryCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { PartiallyWrittenError, TooManyRequestsError, UnstorableEventError } from '../domain/errors.js';
import { allocateIds, isEncodableTimestamp, lastIdAt } from '../domain/ids.js';
import { jsonValueProblem } from '../domain/json-values.js';
import { type AuditRecord, type EventDraft, sealRecord } from '../domain/record.js';
import { COUNTER_SHARDS, counterDeltas } from '../domain/rollups.js';
import type {
  AppendOptions,
  AppendResult,
  CountQuery,
  CountResult,
  EventStore,
  PageQuery,
  PageResult,
} from '../ports/event-store.js';
import { type BackoffPolicy, backoffDelay, DEFAULT_BACKOFF, isThrottle } from './backoff.js';
import { counterItemDeltas, counterUpdate, type TransactItem } from './dynamodb-counters.js';
import {
  actionPartition,
  actorPartition,
  apiCallPartition,
  dedupeItemKey,
  eventsPartition,
} from './dynamodb-keys.js';
import {
  itemBytes,
  itemToRecord,
  MAX_ITEM_BYTES,
  MAX_PARTITION_KEY_BYTES,
  recordToItem,
} from './dynamodb-records.js';
import { CONTROL_KEYS, EVENTS_KEYS } from './table-definitions.js';

/** DynamoDB's limit on actions in one TransactWriteItems call. */
const MAX_TRANSACTION_ITEMS = 100;
/** Kept under DynamoDB's 4 MB per transaction, with room for counters and keys. */
const MAX_TRANSACTION_BYTES = 3_500_000;

export interface DynamoDbEventStoreOptions {
  readonly eventsTable: string;
  readonly controlTable: string;
  readonly clock?: () => number;
  readonly random?: () => number;
  readonly backoff?: BackoffPolicy;
}

interface PendingDraft {
  readonly index: number;
  readonly draft: EventDraft;
  readonly dedupeKey: string | undefined;
  /** The size of its entry item, measured before anything was written. */
  readonly bytes: number;
}

/**
 * The events table, written with TransactWriteItems so that every entry and the rollup counters
 * that count it (and its dedupe key, when given) land together or not at all.
 */
export class DynamoDbEventStore implements EventStore {
  readonly #doc: DynamoDBDocumentClient;
  readonly #eventsTable: string;
  readonly #controlTable: string;
  readonly #clock: () => number;
  readonly #random: () => number;
  readonly #backoff: BackoffPolicy;

  constructor(doc: DynamoDBDocumentClient, options: DynamoDbEventStoreOptions) {
    this.#doc = doc;
    this.#eventsTable = options.eventsTable;
    this.#controlTable = options.controlTable;
    this.#clock = options.clock ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.#backoff = options.backoff ?? DEFAULT_BACKOFF;
  }

  async append(
    tenant: string,
    drafts: readonly EventDraft[],
    options: AppendOptions = {},
  ): Promise<AppendResult> {
    if (options.dedupeKeys && options.dedupeKeys.length !== drafts.length) {
      throw new RangeError('dedupeKeys must have one key per draft');
    }
    for (const draft of drafts) {
      if (draft.timestamp !== undefined && !isEncodableTimestamp(draft.timestamp)) {
        throw new RangeError(`timestamp ${draft.timestamp} is outside the supported range`);
      }
    }
    // Every draft is sealed and measured before the first transaction: a draft the store cannot
    // take fails the whole batch here, not after earlier transactions were written.
    const now = this.#clock();
    const pending = drafts.map((draft, index) => ({
      index,
      draft,
      dedupeKey: options.dedupeKeys?.[index],
      bytes: storableBytes(tenant, draft, index, now),
    }));
    const results: AppendResult = new Array(drafts.length).fill(null);
    let written = 0;
    for (const chunk of this.#chunks(tenant, pending)) {
      try {
        for (const [index, record] of await this.#writeChunk(tenant, chunk)) {
          results[index] = record;
          written += 1;
        }
      } catch (error) {
        // Earlier chunks are stored for good: say exactly which, so nothing is lost silently.
        if (written === 0 || !(error instanceof TooManyRequestsError)) throw error;
        const ids = results.flatMap((record) => (record ? [record.id] : []));
        throw new PartiallyWrittenError(
          `The audit store is busy: only the first ${written} of ${drafts.length} events were written (ids ${ids.join(', ')}); the others were not.`,
          { cause: error },
        );
      }
    }
    return results;
  }

  async findDeduplicated(tenant: string, dedupeKeys: readonly string[]): Promise<(number | undefined)[]> {
    const found = new Map<string, number>();
    const pkOf = (key: string) => dedupeItemKey(tenant, key)[CONTROL_KEYS.partition];
    const unique = [...new Set(dedupeKeys)];
    for (let start = 0; start < unique.length; start += 100) {
      let keys: Record<string, unknown>[] | undefined = unique
        .slice(start, start + 100)
        .map((key) => dedupeItemKey(tenant, key));
      for (let attempt = 1; keys && keys.length > 0; attempt += 1) {
        const output: BatchGetCommandOutput = await this.#doc.send(
          new BatchGetCommand({
            RequestItems: { [this.#controlTable]: { Keys: keys, ConsistentRead: true } },
          }),
        );
        for (const item of output.Responses?.[this.#controlTable] ?? []) {
          if (typeof item.id === 'number') found.set(String(item[CONTROL_KEYS.partition]), item.id);
        }
        keys = output.UnprocessedKeys?.[this.#controlTable]?.Keys;
        if (keys && keys.length > 0) {
          if (attempt >= this.#backoff.maxAttempts)
            throw new TooManyRequestsError('The audit store is busy. Retry later.');
          await backoffDelay(this.#backoff, attempt, this.#random);
        }
      }
    }
    return dedupeKeys.map((key) => found.get(pkOf(key)));
  }

  /**
   * Packs drafts into transactions that stay within DynamoDB's item and size limits. One pass:
   * each draft's counter keys are added to the chunk's set, so packing 100 drafts costs 100
   * counter computations, not one per draft per draft already in the chunk.
   */
  *#chunks(tenant: string, pending: PendingDraft[]): Generator<PendingDraft[]> {
    let chunk: PendingDraft[] = [];
    let bytes = 0;
    let dedupeKeys = 0;
    let counterKeys = new Set<string>();
    const now = this.#clock();
    for (const entry of pending) {
      const size = entry.bytes + 200;
      const keys = [
        ...counterDeltas([{ ...entry.draft, tenant, timestamp: entry.draft.timestamp ?? now }], 1, 0).keys(),
      ];
      const newKeys = keys.filter((key) => !counterKeys.has(key));
      const items =
        chunk.length +
        1 +
        dedupeKeys +
        (entry.dedupeKey !== undefined ? 1 : 0) +
        counterKeys.size +
        newKeys.length;
      // Counter keys can move to the next hour between packing and writing; leave room for that.
      if (chunk.length > 0 && (items > MAX_TRANSACTION_ITEMS - 8 || bytes + size > MAX_TRANSACTION_BYTES)) {
        yield chunk;
        chunk = [];
        bytes = 0;
        dedupeKeys = 0;
        counterKeys = new Set();
      }
      chunk.push(entry);
      bytes += size;
      if (entry.dedupeKey !== undefined) dedupeKeys += 1;
      for (const key of keys) counterKeys.add(key);
    }
    if (chunk.length > 0) yield chunk;
  }

  /** Writes one chunk, retrying id collisions, conflicts and throttling within the backoff budget. */
  async #writeChunk(tenant: string, chunk: PendingDraft[]): Promise<Map<number, AuditRecord>> {
    let remaining = chunk;
    for (let attempt = 1; ; attempt += 1) {
      const records = this.#seal(tenant, remaining);
      const transactItems = this.#transactItems(tenant, remaining, records);
      try {
        await this.#doc.send(
          new TransactWriteCommand({ TransactItems: transactItems, ClientRequestToken: randomUUID() }),
        );
        return new Map(remaining.map((entry, position) => [entry.index, records[position] as AuditRecord]));
      } catch (error) {
        if (!(error instanceof TransactionCanceledException) && !isThrottle(error)) throw error;
        const reasons =
          error instanceof TransactionCanceledException ? (error.CancellationReasons ?? []) : [];
        // A dedupe key that already exists means that draft was stored before: drop it, keep the rest.
        const duplicates = new Set<number>();
        remaining.forEach((entry, position) => {
          const dedupePosition =
            remaining.length + remaining.slice(0, position).filter((e) => e.dedupeKey).length;
          if (entry.dedupeKey && reasons[dedupePosition]?.Code === 'ConditionalCheckFailed')
            duplicates.add(entry.index);
        });
        remaining = remaining.filter((entry) => !duplicates.has(entry.index));
        if (remaining.length === 0) return new Map();
        if (attempt >= this.#backoff.maxAttempts) {
          throw new TooManyRequestsError(
            'The audit store is busy; no entries of this batch were written. Retry later.',
            {
              cause: error,
            },
          );
        }
        // Id collisions (ConditionalCheckFailed on an entry) are retried at once with fresh ids;
        // conflicts and throttling wait first.
        const onlyCollisions =
          reasons.length > 0 &&
          reasons.every((reason) => reason.Code === 'None' || reason.Code === 'ConditionalCheckFailed');
        if (!onlyCollisions) await backoffDelay(this.#backoff, attempt, this.#random);
      }
    }
  }

  #seal(tenant: string, drafts: PendingDraft[]): AuditRecord[] {
    const now = this.#clock();
    const byMillisecond = new Map<number, number[]>();
    drafts.forEach(({ draft }, position) => {
      const timestamp = draft.timestamp ?? now;
      byMillisecond.set(timestamp, [...(byMillisecond.get(timestamp) ?? []), position]);
    });
    const records: AuditRecord[] = new Array(drafts.length);
    for (const [timestamp, positions] of byMillisecond) {
      const ids = allocateIds(timestamp, positions.length, this.#random);
      positions.forEach((position, n) => {
        records[position] = sealRecord(
          tenant,
          ids[n] as number,
          timestamp,
          (drafts[position] as PendingDraft).draft,
        );
      });
    }
    return records;
  }

  #transactItems(tenant: string, drafts: PendingDraft[], records: AuditRecord[]): TransactItem[] {
    const items: TransactItem[] = records.map((record) => ({
      Put: {
        TableName: this.#eventsTable,
        Item: recordToItem(record),
        ConditionExpression: 'attribute_not_exists(#id)',
        ExpressionAttributeNames: { '#id': EVENTS_KEYS.sort },
      },
    }));
    drafts.forEach(({ dedupeKey }, position) => {
      if (dedupeKey === undefined) return;
      items.push({
        Put: {
          TableName: this.#controlTable,
          Item: {
            ...dedupeItemKey(tenant, dedupeKey),
            // The id the draft was stored under, so a retry can answer it (findDeduplicated).
            id: (records[position] as AuditRecord).id,
            // Long enough to outlive any redelivery (SQS keeps messages at most 14 days).
            [CONTROL_KEYS.ttl]: Math.floor(this.#clock() / 1000) + 15 * 86400,
          },
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': CONTROL_KEYS.partition },
        },
      });
    });
    const shard = Math.floor(this.#random() * COUNTER_SHARDS);
    for (const change of counterItemDeltas(records, 1, shard))
      items.push(counterUpdate(this.#controlTable, change));
    return items;
  }

  async queryPage(query: PageQuery): Promise<PageResult> {
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

  /** The table, index, key condition and order of an id-range query, shared by pages and counts. */
  #rangeQuery(query: PageQuery | CountQuery) {
    const { partitionName, partitionValue, indexName } = this.#partition(query);
    return {
      TableName: this.#eventsTable,
      IndexName: indexName,
      KeyConditionExpression: '#pk = :pk AND #id BETWEEN :min AND :max',
      ExpressionAttributeNames: { '#pk': partitionName, '#id': EVENTS_KEYS.sort },
      ExpressionAttributeValues: { ':pk': partitionValue, ':min': query.minId, ':max': query.maxId },
      ScanIndexForward: !query.newestFirst,
    };
  }

  #partition(query: Pick<PageQuery, 'tenant' | 'selector'>): {
    partitionName: string;
    partitionValue: string;
    indexName: string | undefined;
  } {
    switch (query.selector.kind) {
      case 'all':
        return {
          partitionName: EVENTS_KEYS.partition,
          partitionValue: eventsPartition(query.tenant),
          indexName: undefined,
        };
      case 'action':
        return {
          partitionName: EVENTS_KEYS.actionKey,
          partitionValue: actionPartition(query.tenant, query.selector.action),
          indexName: EVENTS_KEYS.actionIndex,
        };
      case 'actor':
        return {
          partitionName: EVENTS_KEYS.actorKey,
          partitionValue: actorPartition(query.tenant, query.selector.actor),
          indexName: EVENTS_KEYS.actorIndex,
        };
      case 'apiCalls':
        return query.selector.actor === undefined
          ? {
              partitionName: EVENTS_KEYS.apiCallKey,
              partitionValue: apiCallPartition(query.tenant),
              indexName: EVENTS_KEYS.apiCallIndex,
            }
          : {
              partitionName: EVENTS_KEYS.actorKey,
              partitionValue: actorPartition(query.tenant, query.selector.actor),
              indexName: EVENTS_KEYS.actorIndex,
            };
    }
  }
}

/** Nesting a draft may have: `additional_information` (32 levels, validated) inside the event. */
const MAX_DRAFT_DEPTH = 40;
/** A SHA-256 in hex, standing in for the hash the write computes (same size). */
const HASH_PLACEHOLDER = '0'.repeat(64);

/**
 * Returns the size of the item `draft` will be stored as, and throws UnstorableEventError when it
 * cannot be stored: a value RFC 8785 cannot canonicalize (an unpaired surrogate, a non-finite
 * number, nesting deep enough to exhaust the stack — the cheap walk of `jsonValueProblem`, not a
 * second canonicalization), an item over DynamoDB's 400 KB, an index key over 2 KB. Validation
 * (lambdas/domain/event-schema.ts) refuses all of these first; this keeps the store all-or-nothing
 * for drafts from any writer.
 */
const storableBytes = (tenant: string, draft: EventDraft, index: number, now: number): number => {
  const problem = jsonValueProblem(draft, MAX_DRAFT_DEPTH);
  if (problem) throw new UnstorableEventError(index, problem.message, { path: problem.path });
  const timestamp = draft.timestamp ?? now;
  const { timestamp: _stamped, ...fields } = draft;
  const item = recordToItem({
    ...fields,
    tenant,
    id: lastIdAt(timestamp),
    timestamp,
    hash: HASH_PLACEHOLDER,
  });
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
  return bytes;
};
