import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  paginateQuery,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { ConflictError } from '../domain/errors.js';
import type { ChunkResult, ExportPlan } from '../domain/export-plan.js';
import type { ExportPlanStore } from '../ports/export-store.js';
import { EXPORT_JOB_KEEP_SECONDS } from './dynamodb-export-job-store.js';
import { exportChunkKey, exportChunkPrefix, exportJobKey, tenantPartition } from './dynamodb-keys.js';
import { CONTROL_KEYS } from './table-definitions.js';

const { partition: PK, sort: SK, ttl: TTL } = CONTROL_KEYS;

/**
 * A parallel export job's plan (an attribute of the job item, with its chunk count) and its chunk
 * records (pk `tenant#<tenant>`, sk `exportchunk#<jobId>#<index>`), in the control table. The job
 * item's `chunksDone` set is what the job store reports as progress.
 */
export class DynamoDbExportPlanStore implements ExportPlanStore {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(doc: DynamoDBDocumentClient, options: { readonly controlTable: string }) {
    this.#doc = doc;
    this.#table = options.controlTable;
  }

  async plan(tenant: string, jobId: string): Promise<ExportPlan | undefined> {
    const { Item } = await this.#doc.send(
      new GetCommand({
        TableName: this.#table,
        Key: exportJobKey(tenant, jobId),
        ProjectionExpression: '#plan',
        ExpressionAttributeNames: { '#plan': 'plan' },
        ConsistentRead: true,
      }),
    );
    return typeof Item?.plan === 'string' ? (JSON.parse(Item.plan) as ExportPlan) : undefined;
  }

  async savePlan(tenant: string, jobId: string, plan: ExportPlan, now: number): Promise<ExportPlan> {
    try {
      await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: exportJobKey(tenant, jobId),
          UpdateExpression: 'SET #plan = :plan, chunkCount = :chunks, updatedAt = :now',
          ConditionExpression: '#status = :running AND attribute_not_exists(#plan)',
          ExpressionAttributeNames: { '#status': 'status', '#plan': 'plan' },
          ExpressionAttributeValues: {
            ':plan': JSON.stringify(plan),
            ':chunks': plan.mode === 'parallel' ? plan.chunks.length : 1,
            ':running': 'running',
            ':now': now,
          },
        }),
      );
      return plan;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const held = await this.plan(tenant, jobId);
      if (!held) throw new ConflictError(`export job ${jobId} is no longer running`);
      return held;
    }
  }

  async recordChunk(tenant: string, jobId: string, result: ChunkResult, now: number): Promise<boolean> {
    try {
      await this.#doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.#table,
                Key: exportJobKey(tenant, jobId),
                // A set of chunk indexes: a chunk recorded twice (a retry) counts once.
                UpdateExpression: 'ADD chunksDone :chunk SET updatedAt = :now',
                ConditionExpression: '#status = :running',
                ExpressionAttributeNames: { '#status': 'status' },
                ExpressionAttributeValues: {
                  ':chunk': new Set([result.index]),
                  ':running': 'running',
                  ':now': now,
                },
              },
            },
            {
              Put: {
                TableName: this.#table,
                Item: {
                  ...exportChunkKey(tenant, jobId, result.index),
                  [TTL]: Math.floor(now / 1000) + EXPORT_JOB_KEEP_SECONDS,
                  ...result,
                },
              },
            },
          ],
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof TransactionCanceledException) return false;
      throw error;
    }
  }

  async chunkResults(tenant: string, jobId: string): Promise<ChunkResult[]> {
    const results: ChunkResult[] = [];
    const pages = paginateQuery(
      { client: this.#doc },
      {
        TableName: this.#table,
        KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
        ExpressionAttributeNames: { '#pk': PK, '#sk': SK },
        ExpressionAttributeValues: { ':pk': tenantPartition(tenant), ':prefix': exportChunkPrefix(jobId) },
        ConsistentRead: true,
      },
    );
    for await (const page of pages) {
      for (const item of page.Items ?? []) {
        results.push({
          index: Number(item.index),
          etag: String(item.etag),
          crc32: Number(item.crc32),
          textBytes: Number(item.textBytes),
          deflateBytes: Number(item.deflateBytes),
          headerBytes: Number(item.headerBytes),
          entries: Number(item.entries),
        });
      }
    }
    return results.sort((a, b) => a.index - b.index);
  }
}
