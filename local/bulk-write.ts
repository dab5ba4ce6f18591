import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { backoffDelay, DEFAULT_BACKOFF } from '../lambdas/adapters/backoff.js';
import { batchWriteAll } from '../lambdas/adapters/dynamodb-batch-write.js';
import { counterItemDeltas, counterUpdate } from '../lambdas/adapters/dynamodb-counters.js';
import { recordToItem } from '../lambdas/adapters/dynamodb-records.js';
import { idFor, SEQUENCES_PER_MS } from '../lambdas/domain/ids.js';
import { type AuditRecord, type EventDraft, sealRecord } from '../lambdas/domain/record.js';

/**
 * The bulk loader: writes entries with BatchWriteItem (no condition, no transaction) for benches,
 * big test fixtures and the seed command (`scripts/seed-bulk.ts`, which adds the safety checks
 * and resumable counting a real table needs). Not for live tenants: it skips the per-entry
 * transaction that keeps ids unique and counters exact under concurrency.
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
 * timestamp get "now"), then adds their rollup counters: many times faster than `events.append`
 * on DynamoDB Local. Never mix with other writers of the same tenant and milliseconds.
 */
export const bulkWrite = async (
  doc: DynamoDBDocumentClient,
  tables: { eventsTable: string; controlTable: string },
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
  // Counters go 100 to a transaction (DynamoDB's limit): far fewer round trips than one UpdateItem
  // each. A cancelled transaction applied nothing, so it is simply sent again.
  const deltas = counterItemDeltas(records, 1, 0);
  const chunks: (typeof deltas)[] = [];
  for (let start = 0; start < deltas.length; start += 100) chunks.push(deltas.slice(start, start + 100));
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < chunks.length) {
        const chunk = chunks[next++] ?? [];
        for (let attempt = 1; ; attempt += 1) {
          try {
            await doc.send(
              new TransactWriteCommand({
                TransactItems: chunk.map((change) => counterUpdate(tables.controlTable, change)),
              }),
            );
            break;
          } catch (error) {
            if (!(error instanceof TransactionCanceledException) || attempt >= DEFAULT_BACKOFF.maxAttempts)
              throw error;
            await backoffDelay(DEFAULT_BACKOFF, attempt);
          }
        }
      }
    }),
  );
  return records;
};
