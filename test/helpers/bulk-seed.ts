import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { recordToItem } from '../../lambdas/adapters/dynamodb-records.js';
import { CONTROL_KEYS } from '../../lambdas/adapters/table-definitions.js';
import { idFor } from '../../lambdas/domain/ids.js';
import { type AuditRecord, type EventDraft, sealRecord } from '../../lambdas/domain/record.js';
import { counterDeltas } from '../../lambdas/domain/rollups.js';

/**
 * Writes drafts (with timestamps) straight into the tables with BatchWriteItem, and their rollup
 * counters, much faster than the transactional append path: for seeding big tenants in tests and
 * benchmarks only. Ids are allocated from sequence 0 in each millisecond, so it must not be mixed
 * with other writers for the same tenant and milliseconds.
 */
export const bulkSeed = async (
  doc: DynamoDBDocumentClient,
  tables: { eventsTable: string; controlTable: string },
  tenant: string,
  drafts: readonly EventDraft[],
  concurrency = 8,
): Promise<AuditRecord[]> => {
  const perMillisecond = new Map<number, number>();
  const records = drafts.map((draft) => {
    const timestamp = draft.timestamp ?? Date.now();
    const sequence = perMillisecond.get(timestamp) ?? 0;
    perMillisecond.set(timestamp, sequence + 1);
    return sealRecord(tenant, idFor(timestamp, sequence), timestamp, draft);
  });
  await writeAll(
    doc,
    tables.eventsTable,
    records.map((record) => ({ PutRequest: { Item: recordToItem(record) } })),
    concurrency,
  );
  // A fresh tenant has no counters yet, so they are put (25 a call) rather than added to.
  const counters = [...counterDeltas(records, 1, 0).values()].map(({ key, delta }) => ({
    PutRequest: { Item: { [CONTROL_KEYS.partition]: key.pk, [CONTROL_KEYS.sort]: key.sk, n: delta } },
  }));
  await writeAll(doc, tables.controlTable, counters, concurrency);
  return records;
};

type PutRequest = { PutRequest: { Item: Record<string, unknown> } };

/** BatchWriteItem in 25s, `concurrency` calls at a time, retrying UnprocessedItems. */
const writeAll = async (
  doc: DynamoDBDocumentClient,
  table: string,
  requests: PutRequest[],
  concurrency: number,
): Promise<void> => {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requests.length) {
        let batch = requests.slice(next, next + 25);
        next += 25;
        while (batch.length > 0) {
          const output = await doc.send(new BatchWriteCommand({ RequestItems: { [table]: batch } }));
          batch = (output.UnprocessedItems?.[table] ?? []) as PutRequest[];
        }
      }
    }),
  );
};
