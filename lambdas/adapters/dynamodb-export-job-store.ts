import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { InvariantError } from '../domain/errors.js';
import { type ExportJob, JOB_ABANDONED_AFTER_MS } from '../domain/export.js';
import type { ExportJobStore } from '../ports/export-store.js';
import { CONTROL_KEYS } from './table-definitions.js';

const { partition: PK, sort: SK, ttl: TTL } = CONTROL_KEYS;
/** Job items' sort key prefix (`export#<jobId>`). */
export const EXPORT_JOB_PREFIX = 'export#';
const PREFIX = EXPORT_JOB_PREFIX;
/** Job records are kept a week (DynamoDB TTL), long after their zips expired. */
export const EXPORT_JOB_KEEP_SECONDS = 7 * 86400;

/** The tenant's export slot: names the one job that may run (sk outside the `export#` range). */
const SLOT = 'export-slot';

/**
 * Export jobs in the control table, under their tenant: pk `tenant#<tenant>`, sk
 * `export#<jobId>`. Job ids sort by creation time, so the newest job is one reverse query away,
 * and a job id of another tenant is simply not found. A slot item beside them names the job
 * that holds the tenant's one export at a time, so simultaneous first downloads start one job.
 */
export class DynamoDbExportJobStore implements ExportJobStore {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(doc: DynamoDBDocumentClient, options: { readonly controlTable: string }) {
    this.#doc = doc;
    this.#table = options.controlTable;
  }

  async create(job: ExportJob): Promise<ExportJob> {
    // The slot is taken when it is free, abandoned, or held by a job found finished (or gone).
    let finishedHolder = '';
    for (let attempt = 1; attempt <= 3; attempt += 1) {
      try {
        await this.#doc.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Put: {
                  TableName: this.#table,
                  Item: {
                    [PK]: `tenant#${job.tenant}`,
                    [SK]: `${PREFIX}${job.jobId}`,
                    [TTL]: Math.floor(job.createdAt / 1000) + EXPORT_JOB_KEEP_SECONDS,
                    ...job,
                  },
                  ConditionExpression: 'attribute_not_exists(#pk)',
                  ExpressionAttributeNames: { '#pk': PK },
                },
              },
              {
                Put: {
                  TableName: this.#table,
                  Item: {
                    [PK]: `tenant#${job.tenant}`,
                    [SK]: SLOT,
                    jobId: job.jobId,
                    since: job.createdAt,
                    [TTL]: Math.floor(job.createdAt / 1000) + EXPORT_JOB_KEEP_SECONDS,
                  },
                  ConditionExpression: 'attribute_not_exists(#pk) OR since < :abandoned OR jobId = :finished',
                  ExpressionAttributeNames: { '#pk': PK },
                  ExpressionAttributeValues: {
                    ':abandoned': job.createdAt - JOB_ABANDONED_AFTER_MS,
                    ':finished': finishedHolder,
                  },
                },
              },
            ],
          }),
        );
        return job;
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) throw error;
        const holder = await this.#slotHolder(job.tenant);
        if (holder?.status === 'running') return holder;
        finishedHolder = holder?.jobId ?? (await this.#slotJobId(job.tenant)) ?? '';
      }
    }
    throw new InvariantError(`could not start an export job for tenant ${job.tenant}`);
  }

  /** The job named by the tenant's slot, read consistently (it may have been created just now). */
  async #slotHolder(tenant: string): Promise<ExportJob | undefined> {
    const jobId = await this.#slotJobId(tenant);
    if (jobId === undefined) return undefined;
    const { Item } = await this.#doc.send(
      new GetCommand({
        TableName: this.#table,
        Key: { [PK]: `tenant#${tenant}`, [SK]: `${PREFIX}${jobId}` },
        ConsistentRead: true,
      }),
    );
    return Item ? toJob(Item) : undefined;
  }

  async #slotJobId(tenant: string): Promise<string | undefined> {
    const { Item } = await this.#doc.send(
      new GetCommand({
        TableName: this.#table,
        Key: { [PK]: `tenant#${tenant}`, [SK]: SLOT },
        ConsistentRead: true,
      }),
    );
    return typeof Item?.jobId === 'string' ? Item.jobId : undefined;
  }

  async get(tenant: string, jobId: string): Promise<ExportJob | undefined> {
    const { Item } = await this.#doc.send(
      new GetCommand({
        TableName: this.#table,
        Key: { [PK]: `tenant#${tenant}`, [SK]: `${PREFIX}${jobId}` },
      }),
    );
    return Item ? toJob(Item) : undefined;
  }

  async latest(tenant: string): Promise<ExportJob | undefined> {
    const { Items } = await this.#doc.send(
      new QueryCommand({
        TableName: this.#table,
        KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
        ExpressionAttributeNames: { '#pk': PK, '#sk': SK },
        ExpressionAttributeValues: { ':pk': `tenant#${tenant}`, ':prefix': PREFIX },
        ScanIndexForward: false,
        Limit: 1,
      }),
    );
    const item = Items?.[0];
    return item ? toJob(item) : undefined;
  }

  async complete(
    tenant: string,
    jobId: string,
    result: Required<Pick<ExportJob, 'objectKey' | 'entries' | 'bytes' | 'snapshotMaxId'>>,
    now: number,
  ): Promise<void> {
    await this.#doc.send(
      new UpdateCommand({
        TableName: this.#table,
        Key: { [PK]: `tenant#${tenant}`, [SK]: `${PREFIX}${jobId}` },
        UpdateExpression:
          'SET #status = :completed, updatedAt = :now, objectKey = :key, entries = :entries, #bytes = :bytes, snapshotMaxId = :max',
        ConditionExpression: '#status = :running',
        ExpressionAttributeNames: { '#status': 'status', '#bytes': 'bytes' },
        ExpressionAttributeValues: {
          ':completed': 'completed',
          ':running': 'running',
          ':now': now,
          ':key': result.objectKey,
          ':entries': result.entries,
          ':bytes': result.bytes,
          ':max': result.snapshotMaxId,
        },
      }),
    );
  }

  async fail(tenant: string, jobId: string, message: string, now: number): Promise<void> {
    await this.#doc.send(
      new UpdateCommand({
        TableName: this.#table,
        Key: { [PK]: `tenant#${tenant}`, [SK]: `${PREFIX}${jobId}` },
        UpdateExpression: 'SET #status = :failed, updatedAt = :now, message = :message',
        ConditionExpression: '#status = :running',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':failed': 'failed',
          ':running': 'running',
          ':now': now,
          ':message': message,
        },
      }),
    );
  }
}

const optionalNumber = (value: unknown): number | undefined =>
  typeof value === 'number' ? value : undefined;

const toJob = (item: Record<string, unknown>): ExportJob => {
  const status = item.status === 'completed' || item.status === 'failed' ? item.status : 'running';
  const objectKey = typeof item.objectKey === 'string' ? item.objectKey : undefined;
  const message = typeof item.message === 'string' ? item.message : undefined;
  const entries = optionalNumber(item.entries);
  const bytes = optionalNumber(item.bytes);
  const snapshotMaxId = optionalNumber(item.snapshotMaxId);
  const chunks = optionalNumber(item.chunkCount);
  const done = item.chunksDone instanceof Set ? item.chunksDone.size : 0;
  return {
    tenant: String(item.tenant),
    jobId: String(item.jobId),
    status,
    createdAt: Number(item.createdAt),
    updatedAt: Number(item.updatedAt),
    ...(objectKey !== undefined ? { objectKey } : {}),
    ...(message !== undefined ? { message } : {}),
    ...(entries !== undefined ? { entries } : {}),
    ...(bytes !== undefined ? { bytes } : {}),
    ...(snapshotMaxId !== undefined ? { snapshotMaxId } : {}),
    ...(chunks !== undefined && chunks > 1 ? { progress: { chunksDone: done, chunks } } : {}),
  };
};
