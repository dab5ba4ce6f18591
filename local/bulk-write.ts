import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { batchWriteAll } from '../lambdas/adapters/dynamodb-batch-write.js';
import { recordToItem } from '../lambdas/adapters/dynamodb-records.js';
import { idFor, SEQUENCES_PER_MS } from '../lambdas/domain/ids.js';
import { type AuditRecord, type EventDraft, sealRecord } from '../lambdas/domain/record.js';

/**
 * The bulk loader: writes entries with BatchWriteItem (no condition, no transaction) for benches,
 * big test fixtures and the seed command (`scripts/seed-bulk.ts`, which adds the safety checks a
 * real table needs). Not for live tenants: its ids are sequences 0, 1, … of each millisecond, not
 * the event store's reserved slots, so they are unique only in a range no one else writes.
 */

/** Seals drafts (each with a timestamp) with ids 0, 1, … of each millisecond. */
export const sealSequential = (tenant: string, drafts: readonly EventDraft[]): AuditRecord[] => {
  const sequences = new Map<number, number>();
  return drafts.map((draft) => {
    if (draft.timestamp === undefined) throw new RangeError('bulk writes need explicit timestamps');
    const sequence = sequences.get(draft.timestamp) ?? 0;
    if (sequence >= SEQUENCES_PER_MS) throw new RangeError('too many drafts in one millisecond');
    sequences.set(draft.timestamp, sequence + 1);
    return sealRecord(tenant, idFor(draft.timestamp, sequence), draft.timestamp, draft);
  });
};

/**
 * Stores sealed records with BatchWriteItem, 25 a call, `concurrency` calls at once (unprocessed
 * items retried within the backoff budget); `onStored` hears of each call's entries once stored.
 */
export const writeRecords = (
  doc: DynamoDBDocumentClient,
  eventsTable: string,
  records: readonly AuditRecord[],
  concurrency: number,
  onStored?: (count: number) => void,
): Promise<void> =>
  batchWriteAll(
    doc,
    eventsTable,
    records.map((record) => ({ PutRequest: { Item: recordToItem(record) } })),
    { concurrency, ...(onStored ? { onWritten: onStored } : {}) },
  );

/**
 * Writes drafts for a tenant that has no entries in their milliseconds yet (drafts without a
 * timestamp get "now"): entries only, many times faster than `events.append` on DynamoDB Local.
 * Their rollup counters are derived from the events table's stream like every other entry's, by
 * the stream consumer: a caller that reads counts (canary `page_count`, kore `total`, deep pages)
 * waits until the consumer has caught up first (`service.settle()` in tests and benches). Never mix
 * with other writers of the same tenant and milliseconds.
 */
export const bulkWrite = async (
  doc: DynamoDBDocumentClient,
  tables: { eventsTable: string },
  tenant: string,
  drafts: readonly EventDraft[],
  concurrency = 8,
): Promise<AuditRecord[]> => {
  const now = Date.now();
  const records = sealSequential(
    tenant,
    drafts.map((draft) => (draft.timestamp === undefined ? { ...draft, timestamp: now } : draft)),
  );
  await writeRecords(doc, tables.eventsTable, records, concurrency);
  return records;
};
