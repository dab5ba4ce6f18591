import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { PurgeJob } from '../domain/purge.js';
import type { AuditRecord } from '../domain/record.js';
import { COUNTER_SHARDS, counterDeltas } from '../domain/rollups.js';
import type { BatchOutcome, PurgeStore, StartOutcome } from '../ports/purge-store.js';
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

export interface DynamoDbPurgeStoreOptions {
  readonly eventsTable: string;
  readonly controlTable: string;
  readonly random?: () => number;
  readonly clock?: () => number;
  readonly backoff?: BackoffPolicy;
}

/**
 * Purge jobs and deletions on DynamoDB. Each batch is one TransactWriteItems holding the entries'
 * deletes (each conditional on the entry still existing), the counter decrements of exactly the
 * entries deleted, and the job's checkpoint update (conditional on the checkpoint it started from
 * and on this runner holding the job). So a replayed or concurrent batch cannot decrement twice,
 * and a crash between batches leaves entries, counters and checkpoint consistent.
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

  async deleteBatch(
    job: PurgeJob,
    runner: string,
    records: readonly AuditRecord[],
    checkpoint: number,
    leaseUntil: number,
  ): Promise<BatchOutcome> {
    let remaining = [...records];
    for (let attempt = 1; ; attempt += 1) {
      const items = this.#batchItems(job, runner, remaining, checkpoint, leaseUntil);
      try {
        await this.#doc.send(new TransactWriteCommand({ TransactItems: items }));
        return {
          kind: 'deleted',
          deleted: remaining.length,
          job: {
            ...job,
            checkpoint,
            deleted: job.deleted + remaining.length,
            updatedAt: this.#clock(),
          },
        };
      } catch (error) {
        if (!(error instanceof TransactionCanceledException) && !isThrottle(error)) throw error;
        const reasons =
          error instanceof TransactionCanceledException ? (error.CancellationReasons ?? []) : [];
        const jobReason = reasons[items.length - 1];
        if (jobReason?.Code === 'ConditionalCheckFailed') {
          // The checkpoint or the runner changed: either this very batch was applied by an earlier
          // attempt, or another runner took the job over.
          const current = await this.get(job.tenant, job.jobId);
          if (current && current.status === 'running' && current.checkpoint === checkpoint) {
            return { kind: 'deleted', deleted: current.deleted - job.deleted, job: current };
          }
          return { kind: 'lost', job: current };
        }
        // Entries already gone (another purge got there first) are dropped so they are not
        // decremented twice; the rest is retried.
        const gone = new Set(
          remaining
            .filter((_, position) => reasons[position]?.Code === 'ConditionalCheckFailed')
            .map((record) => record.id),
        );
        remaining = remaining.filter((record) => !gone.has(record.id));
        if (gone.size === 0) {
          if (attempt >= this.#backoff.maxAttempts) throw error;
          await backoffDelay(this.#backoff, attempt, this.#random);
        }
      }
    }
  }

  #batchItems(
    job: PurgeJob,
    runner: string,
    records: readonly AuditRecord[],
    checkpoint: number,
    leaseUntil: number,
  ): TransactItem[] {
    const items: TransactItem[] = records.map((record) => ({
      Delete: {
        TableName: this.#eventsTable,
        Key: { [EVENTS_KEYS.partition]: record.tenant, [EVENTS_KEYS.sort]: record.id },
        ConditionExpression: 'attribute_exists(#id)',
        ExpressionAttributeNames: { '#id': EVENTS_KEYS.sort },
      },
    }));
    // Readers add every shard up, so the decrement may land on any one of them.
    const shard = Math.floor(this.#random() * COUNTER_SHARDS);
    for (const { key, delta } of counterDeltas(records, -1, shard).values()) {
      items.push({
        Update: {
          TableName: this.#controlTable,
          Key: { [PK]: key.pk, [SK]: key.sk },
          UpdateExpression: 'ADD #n :delta',
          ExpressionAttributeNames: { '#n': 'n' },
          ExpressionAttributeValues: { ':delta': delta },
        },
      });
    }
    items.push({
      Update: {
        TableName: this.#controlTable,
        Key: jobKey(job.tenant, job.jobId),
        UpdateExpression:
          'SET #checkpoint = :checkpoint, updatedAt = :now, leaseUntil = :lease ADD deleted :n',
        ConditionExpression: '#status = :running AND runner = :runner AND #checkpoint = :previous',
        ExpressionAttributeNames: { '#checkpoint': 'checkpoint', '#status': 'status' },
        ExpressionAttributeValues: {
          ':checkpoint': checkpoint,
          ':previous': job.checkpoint,
          ':now': this.#clock(),
          ':lease': leaseUntil,
          ':n': records.length,
          ':running': 'running',
          ':runner': runner,
        },
      },
    });
    return items;
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
                ConditionExpression: '#status = :running AND runner = :runner',
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
});
