import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  paginateQuery,
  TransactWriteCommand,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { InvariantError } from '../domain/errors.js';
import { type PurgeJob, purgeJobId, purgeRunOf } from '../domain/purge.js';
import type { CounterChange } from '../ports/entry-deletion.js';
import type {
  BeginOutcome,
  FinishOutcome,
  PurgeJobStore,
  PurgeSegment,
  StartOutcome,
} from '../ports/purge-job-store.js';
import {
  type ControlKey,
  purgeIntentKey,
  purgeJobKey,
  purgeLaterRunsPrefix,
  purgeLockKey,
  purgePartition,
} from './dynamodb-keys.js';
import { putLockedJob } from './dynamodb-tenant-lock.js';
import { CONTROL_KEYS } from './table-definitions.js';

const { partition: PK, sort: SK } = CONTROL_KEYS;

/** The stored pending segment: its ids, counter decrements and the checkpoint after it. */
interface Intent {
  readonly ids: number[];
  readonly deltas: CounterChange[];
  readonly target: number;
}

export interface DynamoDbPurgeJobStoreOptions {
  readonly controlTable: string;
  readonly clock?: () => number;
}

/**
 * Purge jobs in the control table (partition `purge#<tenant>`): the job items, the tenant's lock
 * naming its one running job, and each job's pending segment. A segment is deleted in three
 * idempotent steps, recorded on the job so a crash at any point resumes exactly:
 * 1. `beginSegment` writes an intent item (the segment's ids, its counter decrements, the
 *    checkpoint after it) together with `pending` on the job, conditional on the checkpoint it
 *    starts from;
 * 2. the event store deletes the entries and applies the decrements (`EntryDeletion`), then
 * 3. `finishSegment` moves the checkpoint and clears `pending`.
 * Every step is conditional on the runner holding the job's lease; the tenant's purge lock keeps
 * other purges away from the same entries, so the listed ids are deleted by this job alone.
 */
export class DynamoDbPurgeJobStore implements PurgeJobStore {
  readonly #doc: DynamoDBDocumentClient;
  readonly #controlTable: string;
  readonly #clock: () => number;

  constructor(doc: DynamoDBDocumentClient, options: DynamoDbPurgeJobStoreOptions) {
    this.#doc = doc;
    this.#controlTable = options.controlTable;
    this.#clock = options.clock ?? Date.now;
  }

  async start(job: PurgeJob): Promise<StartOutcome> {
    const started = await putLockedJob(this.#doc, {
      table: this.#controlTable,
      job: { key: purgeJobKey(job.tenant, job.jobId), attributes: toItem(job) },
      lock: {
        key: purgeLockKey(job.tenant),
        attributes: { jobId: job.jobId, since: job.startedAt },
        takeOverWhen: 'jobId = :jobId',
        values: { ':jobId': job.jobId },
      },
    });
    if (started) return { kind: 'started', job };
    const existing = await this.get(job.tenant, job.jobId);
    if (existing) return { kind: 'existing', job: existing };
    const active = await this.active(job.tenant);
    if (active) return { kind: 'busy', active };
    throw new InvariantError(`could not start purge job ${job.jobId}`);
  }

  async get(tenant: string, jobId: string): Promise<PurgeJob | undefined> {
    const item = await this.#read(purgeJobKey(tenant, jobId));
    return item ? fromItem(tenant, item) : undefined;
  }

  /** One control-table item, read strongly consistent. */
  async #read(key: ControlKey): Promise<Record<string, unknown> | undefined> {
    return (
      await this.#doc.send(new GetCommand({ TableName: this.#controlTable, Key: key, ConsistentRead: true }))
    ).Item;
  }

  /**
   * A conditional update of the job item: its new attributes (`ReturnValues` ALL_NEW), or
   * undefined when the condition failed.
   */
  async #update(
    job: { readonly tenant: string; readonly jobId: string },
    input: Omit<UpdateCommandInput, 'TableName' | 'Key'>,
  ): Promise<Record<string, unknown> | undefined> {
    try {
      const { Attributes } = await this.#doc.send(
        new UpdateCommand({
          TableName: this.#controlTable,
          Key: purgeJobKey(job.tenant, job.jobId),
          ...input,
        }),
      );
      return Attributes ?? {};
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  async latest(tenant: string, throughId: number): Promise<PurgeJob | undefined> {
    const first = await this.get(tenant, purgeJobId(throughId));
    if (!first) return undefined;
    let latest = first;
    const pages = paginateQuery(
      { client: this.#doc },
      {
        TableName: this.#controlTable,
        KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
        ExpressionAttributeNames: { '#pk': PK, '#sk': SK },
        ExpressionAttributeValues: {
          ':pk': purgePartition(tenant),
          ':prefix': purgeLaterRunsPrefix(purgeJobId(throughId)),
        },
        ConsistentRead: true,
      },
    );
    for await (const page of pages) {
      for (const item of page.Items ?? []) {
        const job = fromItem(tenant, item);
        if (purgeRunOf(job.jobId) > purgeRunOf(latest.jobId)) latest = job;
      }
    }
    return latest;
  }

  async active(tenant: string): Promise<PurgeJob | undefined> {
    const lock = await this.#read(purgeLockKey(tenant));
    return typeof lock?.jobId === 'string' ? this.get(tenant, lock.jobId) : undefined;
  }

  async acquire(
    tenant: string,
    jobId: string,
    runner: string,
    now: number,
    leaseUntil: number,
  ): Promise<PurgeJob | undefined> {
    const taken = await this.#update(
      { tenant, jobId },
      {
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
      },
    );
    return taken ? fromItem(tenant, taken) : undefined;
  }

  async release(tenant: string, jobId: string, runner: string): Promise<void> {
    await this.#update(
      { tenant, jobId },
      {
        UpdateExpression: 'SET leaseUntil = :zero',
        ConditionExpression: 'runner = :runner',
        ExpressionAttributeValues: { ':runner': runner, ':zero': 0 },
      },
    );
  }

  async beginSegment(
    job: PurgeJob,
    runner: string,
    segment: PurgeSegment,
    leaseUntil: number,
  ): Promise<BeginOutcome> {
    const intent: Intent = {
      ids: [...segment.plan.ids],
      deltas: [...segment.plan.counters],
      target: segment.checkpoint,
    };
    try {
      await this.#doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.#controlTable,
                Item: { ...purgeIntentKey(job.tenant, job.jobId), ...intent },
              },
            },
            {
              Update: {
                TableName: this.#controlTable,
                Key: purgeJobKey(job.tenant, job.jobId),
                UpdateExpression: 'SET pending = :target, leaseUntil = :lease',
                ConditionExpression:
                  '#status = :running AND runner = :runner AND #checkpoint = :previous AND attribute_not_exists(pending)',
                ExpressionAttributeNames: { '#checkpoint': 'checkpoint', '#status': 'status' },
                ExpressionAttributeValues: {
                  ':target': segment.checkpoint,
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
    return { kind: 'recorded', job: { ...job, pending: segment.checkpoint } };
  }

  async pendingSegment(job: PurgeJob): Promise<PurgeSegment> {
    const Item = await this.#read(purgeIntentKey(job.tenant, job.jobId));
    const jobItem = await this.#read(purgeJobKey(job.tenant, job.jobId));
    if (!Item || !jobItem || jobItem.pending !== Item.target)
      throw new InvariantError('purge segment intent is missing');
    return {
      plan: {
        ids: (Item.ids as number[]).map(Number),
        counters: (Item.deltas as CounterChange[]).map((d) => ({
          pk: d.pk,
          sk: d.sk,
          delta: Number(d.delta),
        })),
      },
      checkpoint: Number(Item.target),
    };
  }

  async finishSegment(
    job: PurgeJob,
    runner: string,
    segment: PurgeSegment,
    leaseUntil: number,
  ): Promise<FinishOutcome> {
    const deleted = segment.plan.ids.length;
    const finished = await this.#update(job, {
      UpdateExpression:
        'SET #checkpoint = :target, updatedAt = :now, leaseUntil = :lease ADD deleted :n REMOVE pending',
      ConditionExpression: '#status = :running AND runner = :runner AND pending = :target',
      ExpressionAttributeNames: { '#checkpoint': 'checkpoint', '#status': 'status' },
      ExpressionAttributeValues: {
        ':target': segment.checkpoint,
        ':now': this.#clock(),
        ':lease': leaseUntil,
        ':n': deleted,
        ':running': 'running',
        ':runner': runner,
      },
    });
    if (!finished) return { kind: 'lost', job: await this.get(job.tenant, job.jobId) };
    const { pending: _done, ...rest } = job;
    return {
      kind: 'deleted',
      deleted,
      job: {
        ...rest,
        checkpoint: segment.checkpoint,
        deleted: job.deleted + deleted,
        updatedAt: this.#clock(),
      },
    };
  }

  async complete(job: PurgeJob, runner: string, now: number): Promise<PurgeJob | undefined> {
    try {
      await this.#doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.#controlTable,
                Key: purgeJobKey(job.tenant, job.jobId),
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
            { Delete: { TableName: this.#controlTable, Key: purgeIntentKey(job.tenant, job.jobId) } },
            {
              Delete: {
                TableName: this.#controlTable,
                Key: purgeLockKey(job.tenant),
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
    await this.#update(
      { tenant, jobId },
      { UpdateExpression: 'SET recordedAt = :now', ExpressionAttributeValues: { ':now': now } },
    );
  }
}

/** A new job's item (undefined optional fields are left out by the document client). */
const toItem = ({ pending: _pending, ...job }: PurgeJob): Record<string, unknown> => job;

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
