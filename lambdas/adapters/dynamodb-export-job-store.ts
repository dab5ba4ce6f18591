import { type DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { InvariantError } from '../domain/errors.js';
import { type ExportJob, JOB_ABANDONED_AFTER_MS } from '../domain/export.js';
import type { ExportJobStore } from '../ports/export-store.js';
import { EXPORT_JOB_PREFIX, exportJobKey, exportSlotKey, tenantPartition } from './dynamodb-keys.js';
import { putLockedJob } from './dynamodb-tenant-lock.js';
import { CONTROL_KEYS } from './table-definitions.js';

const { partition: PK, sort: SK, ttl: TTL } = CONTROL_KEYS;
/** Job records are kept a week (DynamoDB TTL), long after their zips expired. */
export const EXPORT_JOB_KEEP_SECONDS = 7 * 86400;

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
    const expiresAt = Math.floor(job.createdAt / 1000) + EXPORT_JOB_KEEP_SECONDS;
    for (let attempt = 1; attempt <= 3; attempt += 1) {
      const started = await putLockedJob(this.#doc, {
        table: this.#table,
        job: { key: exportJobKey(job.tenant, job.jobId), attributes: { [TTL]: expiresAt, ...job } },
        lock: {
          key: exportSlotKey(job.tenant),
          attributes: { jobId: job.jobId, since: job.createdAt, [TTL]: expiresAt },
          takeOverWhen: 'since < :abandoned OR jobId = :finished',
          values: { ':abandoned': job.createdAt - JOB_ABANDONED_AFTER_MS, ':finished': finishedHolder },
        },
      });
      if (started) return job;
      const holder = await this.#slotHolder(job.tenant);
      if (holder?.status === 'running') return holder;
      finishedHolder = holder?.jobId ?? (await this.#slotJobId(job.tenant)) ?? '';
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
        Key: exportJobKey(tenant, jobId),
        ConsistentRead: true,
      }),
    );
    return Item ? toJob(Item) : undefined;
  }

  async #slotJobId(tenant: string): Promise<string | undefined> {
    const { Item } = await this.#doc.send(
      new GetCommand({
        TableName: this.#table,
        Key: exportSlotKey(tenant),
        ConsistentRead: true,
      }),
    );
    return typeof Item?.jobId === 'string' ? Item.jobId : undefined;
  }

  async get(tenant: string, jobId: string): Promise<ExportJob | undefined> {
    const { Item } = await this.#doc.send(
      new GetCommand({
        TableName: this.#table,
        Key: exportJobKey(tenant, jobId),
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
        ExpressionAttributeValues: { ':pk': tenantPartition(tenant), ':prefix': EXPORT_JOB_PREFIX },
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
        Key: exportJobKey(tenant, jobId),
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
        Key: exportJobKey(tenant, jobId),
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
