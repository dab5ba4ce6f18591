import { BatchWriteCommand, type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
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
  const batches: AuditRecord[][] = [];
  for (let start = 0; start < records.length; start += 25) batches.push(records.slice(start, start + 25));
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < batches.length) {
        const batch = batches[next++] ?? [];
        let requests = batch.map((record) => ({ PutRequest: { Item: recordToItem(record) } }));
        while (requests.length > 0) {
          const output = await doc.send(
            new BatchWriteCommand({ RequestItems: { [tables.eventsTable]: requests } }),
          );
          requests = (output.UnprocessedItems?.[tables.eventsTable] ?? []) as typeof requests;
        }
      }
    }),
  );
  for (const { key, delta } of counterDeltas(records, 1, 0).values()) {
    await doc.send(
      new UpdateCommand({
        TableName: tables.controlTable,
        Key: { [CONTROL_KEYS.partition]: key.pk, [CONTROL_KEYS.sort]: key.sk },
        UpdateExpression: 'ADD #n :delta',
        ExpressionAttributeNames: { '#n': 'n' },
        ExpressionAttributeValues: { ':delta': delta },
      }),
    );
  }
  return records;
};
