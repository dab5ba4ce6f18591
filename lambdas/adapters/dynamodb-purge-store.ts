import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { InvariantError, TooManyRequestsError } from '../domain/errors.js';
import { type PurgeJob, purgeJobId, purgeRunOf } from '../domain/purge.js';
import type { AuditRecord } from '../domain/record.js';
import { COUNTER_SHARDS, counterDeltas } from '../domain/rollups.js';
import type { BatchOutcome, PurgeStore, PurgeTarget, StartOutcome } from '../ports/purge-store.js';
import { type BackoffPolicy, backoffDelay, DEFAULT_BACKOFF } from './backoff.js';
import { isThrottle } from './dynamodb-event-store.js';
import { itemToRecord } from './dynamodb-records.js';
import { CONTROL_KEYS, EVENTS_KEYS } from './table-definitions.js';

const { partition: PK, sort: SK } = CONTROL_KEYS;

type TransactItem = NonNullable<
  ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']
>[number];

const jobKey = (tenant: string, jobId: string) => ({ [PK]: `purge#${tenant}`, [SK]: `job#${jobId}` });
const lockKey = (tenant: string) => ({ [PK]: `purge#${tenant}`, [SK]: 'active' });
const intentKey = (tenant: string, jobId: string) => ({ [PK]: `purge#${tenant}`, [SK]: `intent#${jobId}` });

/** DynamoDB's limit on actions in one TransactWriteItems call. */
const MAX_TRANSACTION_ITEMS = 100;
/** Counter chunks applied at once (they touch distinct items, so they do not conflict). */
const COUNT_CONCURRENCY = 4;

/** A segment about to be deleted: its ids, the counter decrements they imply, the checkpoint after it. */
interface Intent {
  readonly ids: number[];
  readonly deltas: { pk: string; sk: string; delta: number }[];
  readonly target: number;
}

export interface DynamoDbPurgeStoreOptions {
  readonly eventsTable: string;
  readonly controlTable: string;
  readonly random?: () => number;
  readonly clock?: () => number;
  readonly backoff?: BackoffPolicy;
}

/**
 * Purge jobs and deletions on DynamoDB. A segment of entries is deleted in three idempotent steps,
 * recorded on the job so a crash at any point resumes exactly:
 * 1. an intent item (the segment's ids, its counter decrements, the checkpoint after it) is written
 *    together with `pending` on the job, conditional on the checkpoint it starts from;
 * 2. the decrements are applied in transactions of ≤ 99 counters, each with a marker item that
 *    must not exist yet (so a replayed chunk is refused, never applied twice), while
 * 3. the ids are deleted with BatchWriteItem (25 a call, UnprocessedItems retried), which is
 *    idempotent; once both are done the checkpoint moves and `pending` is cleared.
 * Every step is conditional on this runner holding the job's lease; the tenant's purge lock keeps
 * other purges away from the same entries, so the listed ids are deleted by this job alone.
 */
export class DynamoDbPurgeStore implements PurgeStore {
  readonly #doc: DynamoDBDocumentClient;
  readonly #eventsTable: string;
  readonly #controlTable: string;
  readonly #random: () => number;
  readonly #clock: () => number;
  readonly #backoff: BackoffPolicy;

  constructor(doc: DynamoDBDocumentClient, options: DynamoDbPurgeStoreOptions) {
    this.#doc = doc;
    this.#eventsTable = options.eventsTable;
    this.#controlTable = options.controlTable;
    this.#random = options.random ?? Math.random;
    this.#clock = options.clock ?? Date.now;
    this.#backoff = options.backoff ?? DEFAULT_BACKOFF;
  }

  async start(job: PurgeJob): Promise<StartOutcome> {
    try {
      await this.#doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.#controlTable,
                Item: { ...jobKey(job.tenant, job.jobId), ...toItem(job) },
                ConditionExpression: 'attribute_not_exists(#pk)',
                ExpressionAttributeNames: { '#pk': PK },
              },
            },
            {
              Put: {
                TableName: this.#controlTable,
                Item: { ...lockKey(job.tenant), jobId: job.jobId, since: job.startedAt },
                ConditionExpression: 'attribute_not_exists(#pk) OR jobId = :jobId',
                ExpressionAttributeNames: { '#pk': PK },
                ExpressionAttributeValues: { ':jobId': job.jobId },
              },
            },
          ],
        }),
      );
      return { kind: 'started', job };
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const existing = await this.get(job.tenant, job.jobId);
      if (existing) return { kind: 'existing', job: existing };
      const active = await this.active(job.tenant);
      if (active) return { kind: 'busy', active };
      throw error;
    }
  }

  async get(tenant: string, jobId: string): Promise<PurgeJob | undefined> {
    const { Item } = await this.#doc.send(
      new GetCommand({ TableName: this.#controlTable, Key: jobKey(tenant, jobId), ConsistentRead: true }),
    );
    return Item ? fromItem(tenant, Item) : undefined;
  }

  async latest(tenant: string, throughId: number): Promise<PurgeJob | undefined> {
    const first = await this.get(tenant, purgeJobId(throughId));
    if (!first) return undefined;
    // Later runs are `job#pj-<id>-<run>`; the "-" keeps `pj-12` from matching `pj-123`.
    let latest = first;
    let exclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const output = await this.#doc.send(
        new QueryCommand({
          TableName: this.#controlTable,
          KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
          ExpressionAttributeNames: { '#pk': PK, '#sk': SK },
          ExpressionAttributeValues: { ':pk': `purge#${tenant}`, ':prefix': `job#${purgeJobId(throughId)}-` },
          ConsistentRead: true,
          ExclusiveStartKey: exclusiveStartKey,
        }),
      );
      for (const item of output.Items ?? []) {
        const job = fromItem(tenant, item);
        if (purgeRunOf(job.jobId) > purgeRunOf(latest.jobId)) latest = job;
      }
      exclusiveStartKey = output.LastEvaluatedKey;
    } while (exclusiveStartKey);
    return latest;
  }

  async active(tenant: string): Promise<PurgeJob | undefined> {
    const { Item } = await this.#doc.send(
      new GetCommand({ TableName: this.#controlTable, Key: lockKey(tenant), ConsistentRead: true }),
    );
    return typeof Item?.jobId === 'string' ? this.get(tenant, Item.jobId) : undefined;
  }

  async acquire(
    tenant: string,
    jobId: string,
    runner: string,
    now: number,
    leaseUntil: number,
  ): Promise<PurgeJob | undefined> {
    try {
      const { Attributes } = await this.#doc.send(
        new UpdateCommand({
          TableName: this.#controlTable,
          Key: jobKey(tenant, jobId),
          UpdateExpression: 'SET runner = :runner, leaseUntil = :lease',
          ConditionExpression:
            '#status = :running AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now OR runner = :runner)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':runner': runner,
            ':lease': leaseUntil,
            ':now': now,
            ':running': 'running',
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return Attributes ? fromItem(tenant, Attributes) : undefined;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  async release(tenant: string, jobId: string, runner: string): Promise<void> {
    try {
      await this.#doc.send(
        new UpdateCommand({
          TableName: this.#controlTable,
          Key: jobKey(tenant, jobId),
          UpdateExpression: 'SET leaseUntil = :zero',
          ConditionExpression: 'runner = :runner',
          ExpressionAttributeValues: { ':runner': runner, ':zero': 0 },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  /**
   * Ascending key-condition Query of (afterId, throughId]. Strongly consistent: a resumed purge must
   * not see entries it already deleted, or it would decrement their counters again. (Whole items:
   * a ProjectionExpression of the counted fields measured slower on DynamoDB Local.)
   */
  async readRange(tenant: string, afterId: number, throughId: number, limit: number): Promise<AuditRecord[]> {
    const records: AuditRecord[] = [];
    if (afterId >= throughId || limit < 1) return records;
    let exclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const output = await this.#doc.send(
        new QueryCommand({
          TableName: this.#eventsTable,
          KeyConditionExpression: '#pk = :pk AND #id BETWEEN :from AND :through',
          ExpressionAttributeNames: { '#pk': EVENTS_KEYS.partition, '#id': EVENTS_KEYS.sort },
          ExpressionAttributeValues: { ':pk': tenant, ':from': afterId + 1, ':through': throughId },
          ScanIndexForward: true,
          ConsistentRead: true,
          Limit: limit - records.length,
          ExclusiveStartKey: exclusiveStartKey,
        }),
      );
      for (const item of output.Items ?? []) records.push(itemToRecord(item));
      exclusiveStartKey = output.LastEvaluatedKey;
    } while (exclusiveStartKey && records.length < limit);
    return records;
  }

  async deleteSegment(
    job: PurgeJob,
    runner: string,
    records: readonly PurgeTarget[],
    checkpoint: number,
    leaseUntil: number,
  ): Promise<BatchOutcome> {
    // Readers add every shard up, so the decrements may land on any one of them.
    const shard = Math.floor(this.#random() * COUNTER_SHARDS);
    const deltas = [...counterDeltas(records, -1, shard).values()].map(({ key, delta }) => ({
      pk: key.pk,
      sk: key.sk,
      delta,
    }));
    const intent: Intent = { ids: records.map((record) => record.id), deltas, target: checkpoint };
    try {
      await this.#doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.#controlTable,
                Item: { ...intentKey(job.tenant, job.jobId), ...intent },
              },
            },
            {
              Update: {
                TableName: this.#controlTable,
                Key: jobKey(job.tenant, job.jobId),
                UpdateExpression: 'SET pending = :target, leaseUntil = :lease',
                ConditionExpression:
                  '#status = :running AND runner = :runner AND #checkpoint = :previous AND attribute_not_exists(pending)',
                ExpressionAttributeNames: { '#checkpoint': 'checkpoint', '#status': 'status' },
                ExpressionAttributeValues: {
                  ':target': checkpoint,
                  ':lease': leaseUntil,
                  ':running': 'running',
                  ':runner': runner,
                  ':previous': job.checkpoint,
                },
              },
            },
          ],
        }),
      );
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      return { kind: 'lost', job: await this.get(job.tenant, job.jobId) };
    }
    return this.#apply({ ...job, pending: checkpoint }, runner, intent, leaseUntil);
  }

  async resumeSegment(job: PurgeJob, runner: string, leaseUntil: number): Promise<BatchOutcome> {
    const { Item } = await this.#doc.send(
      new GetCommand({
        TableName: this.#controlTable,
        Key: intentKey(job.tenant, job.jobId),
        ConsistentRead: true,
      }),
    );
    const { Item: jobItem } = await this.#doc.send(
      new GetCommand({
        TableName: this.#controlTable,
        Key: jobKey(job.tenant, job.jobId),
        ConsistentRead: true,
      }),
    );
    if (!Item || !jobItem || jobItem.pending !== Item.target)
      throw new InvariantError('purge segment intent is missing');
    const intent: Intent = {
      ids: (Item.ids as number[]).map(Number),
      deltas: (Item.deltas as Intent['deltas']).map((d) => ({ pk: d.pk, sk: d.sk, delta: Number(d.delta) })),
      target: Number(Item.target),
    };
    return this.#apply(job, runner, intent, leaseUntil);
  }

  /**
   * Carries out a recorded segment: counter decrements in marked transactions (each chunk lands
   * exactly once) alongside BatchWriteItem deletes of the listed ids (idempotent), then the
   * checkpoint.
   */
  async #apply(job: PurgeJob, runner: string, intent: Intent, leaseUntil: number): Promise<BatchOutcome> {
    const chunks: Intent['deltas'][] = [];
    for (let start = 0; start < intent.deltas.length; start += MAX_TRANSACTION_ITEMS - 1)
      chunks.push(intent.deltas.slice(start, start + MAX_TRANSACTION_ITEMS - 1));
    let next = 0;
    const countAll = async (): Promise<void> => {
      await Promise.all(
        Array.from({ length: Math.min(COUNT_CONCURRENCY, chunks.length) }, async () => {
          while (next < chunks.length) {
            const index = next++;
            await this.#countChunk(job, intent.target, chunks[index] ?? [], index);
          }
        }),
      );
    };
    // Counting and deleting are independent once the intent is recorded, so they run side by side
    // (the deletes themselves stay one BatchWriteItem at a time); the checkpoint waits for both.
    const [countedAll, deletedAll] = await Promise.allSettled([
      countAll(),
      this.#deleteIds(job.tenant, intent.ids),
    ]);
    if (countedAll.status === 'rejected') throw countedAll.reason;
    if (deletedAll.status === 'rejected') throw deletedAll.reason;
    try {
      await this.#doc.send(
        new UpdateCommand({
          TableName: this.#controlTable,
          Key: jobKey(job.tenant, job.jobId),
          UpdateExpression:
            'SET #checkpoint = :target, updatedAt = :now, leaseUntil = :lease ADD deleted :n REMOVE pending',
          ConditionExpression: '#status = :running AND runner = :runner AND pending = :target',
          ExpressionAttributeNames: { '#checkpoint': 'checkpoint', '#status': 'status' },
          ExpressionAttributeValues: {
            ':target': intent.target,
            ':now': this.#clock(),
            ':lease': leaseUntil,
            ':n': intent.ids.length,
            ':running': 'running',
            ':runner': runner,
          },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      return { kind: 'lost', job: await this.get(job.tenant, job.jobId) };
    }
    const { pending: _done, ...rest } = job;
    return {
      kind: 'deleted',
      deleted: intent.ids.length,
      job: {
        ...rest,
        checkpoint: intent.target,
        deleted: job.deleted + intent.ids.length,
        updatedAt: this.#clock(),
      },
    };
  }

  /**
   * Applies one chunk of counter decrements together with the chunk's marker item, which must not
   * exist yet: a chunk replayed after a crash (or a lost answer) is refused, never applied twice.
   * Chunks touch distinct counters and markers, so they can run side by side.
   */
  async #countChunk(job: PurgeJob, target: number, chunk: Intent['deltas'], index: number): Promise<void> {
    const items: TransactItem[] = chunk.map(({ pk, sk, delta }) => ({
      Update: {
        TableName: this.#controlTable,
        Key: { [PK]: pk, [SK]: sk },
        UpdateExpression: 'ADD #n :delta',
        ExpressionAttributeNames: { '#n': 'n' },
        ExpressionAttributeValues: { ':delta': delta },
      },
    }));
    items.push({
      Put: {
        TableName: this.#controlTable,
        Item: {
          [PK]: `purge#${job.tenant}`,
          [SK]: `counted#${job.jobId}#${target}#${index}`,
          // Only needed until the segment is done; left to expire.
          [CONTROL_KEYS.ttl]: Math.floor(this.#clock() / 1000) + 30 * 86400,
        },
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': PK },
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

  /** BatchWriteItem deletes, 25 a call, UnprocessedItems retried with jittered backoff. */
  async #deleteIds(tenant: string, ids: readonly number[]): Promise<void> {
    for (let start = 0; start < ids.length; start += 25) {
      let requests = ids.slice(start, start + 25).map((id) => ({
        DeleteRequest: { Key: { [EVENTS_KEYS.partition]: tenant, [EVENTS_KEYS.sort]: id } },
      }));
      for (let attempt = 1; requests.length > 0; attempt += 1) {
        let unprocessed: typeof requests;
        try {
          const output = await this.#doc.send(
            new BatchWriteCommand({ RequestItems: { [this.#eventsTable]: requests } }),
          );
          unprocessed = (output.UnprocessedItems?.[this.#eventsTable] ?? []) as typeof requests;
        } catch (error) {
          if (!isThrottle(error)) throw error;
          unprocessed = requests;
        }
        requests = unprocessed;
        if (requests.length === 0) break;
        if (attempt >= this.#backoff.maxAttempts) {
          throw new TooManyRequestsError('The audit store is busy; the purge will resume where it stopped.');
        }
        await backoffDelay(this.#backoff, attempt, this.#random);
      }
    }
  }

  async complete(job: PurgeJob, runner: string, now: number): Promise<PurgeJob | undefined> {
    try {
      await this.#doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.#controlTable,
                Key: jobKey(job.tenant, job.jobId),
                UpdateExpression:
                  'SET #status = :completed, #checkpoint = :through, finishedAt = :now, updatedAt = :now REMOVE runner, leaseUntil',
                ConditionExpression:
                  '#status = :running AND runner = :runner AND attribute_not_exists(pending)',
                ExpressionAttributeNames: { '#status': 'status', '#checkpoint': 'checkpoint' },
                ExpressionAttributeValues: {
                  ':completed': 'completed',
                  ':running': 'running',
                  ':through': job.throughId,
                  ':now': now,
                  ':runner': runner,
                },
              },
            },
            { Delete: { TableName: this.#controlTable, Key: intentKey(job.tenant, job.jobId) } },
            {
              Delete: {
                TableName: this.#controlTable,
                Key: lockKey(job.tenant),
                ConditionExpression: 'attribute_not_exists(jobId) OR jobId = :jobId',
                ExpressionAttributeValues: { ':jobId': job.jobId },
              },
            },
          ],
        }),
      );
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      return undefined;
    }
    return this.get(job.tenant, job.jobId);
  }

  async markRecorded(tenant: string, jobId: string, now: number): Promise<void> {
    await this.#doc.send(
      new UpdateCommand({
        TableName: this.#controlTable,
        Key: jobKey(tenant, jobId),
        UpdateExpression: 'SET recordedAt = :now',
        ExpressionAttributeValues: { ':now': now },
      }),
    );
  }
}

const toItem = (job: PurgeJob): Record<string, unknown> => ({
  tenant: job.tenant,
  jobId: job.jobId,
  throughId: job.throughId,
  status: job.status,
  deleted: job.deleted,
  checkpoint: job.checkpoint,
  archive: job.archive,
  startedBy: job.startedBy,
  startedByName: job.startedByName,
  startedAt: job.startedAt,
  updatedAt: job.updatedAt,
  ...(job.finishedAt !== undefined ? { finishedAt: job.finishedAt } : {}),
  ...(job.recordedAt !== undefined ? { recordedAt: job.recordedAt } : {}),
});

const fromItem = (tenant: string, item: Record<string, unknown>): PurgeJob => ({
  tenant,
  jobId: String(item.jobId),
  throughId: Number(item.throughId),
  status: item.status === 'completed' ? 'completed' : 'running',
  deleted: Number(item.deleted ?? 0),
  checkpoint: Number(item.checkpoint ?? -1),
  archive: item.archive === true,
  startedBy: String(item.startedBy ?? ''),
  startedByName: String(item.startedByName ?? ''),
  startedAt: Number(item.startedAt ?? 0),
  updatedAt: Number(item.updatedAt ?? 0),
  ...(typeof item.finishedAt === 'number' ? { finishedAt: item.finishedAt } : {}),
  ...(typeof item.recordedAt === 'number' ? { recordedAt: item.recordedAt } : {}),
  ...(typeof item.pending === 'number' ? { pending: item.pending } : {}),
});
