import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AuditRecord, EventDraft } from '../../lambdas/domain/record.js';
import { bulkWrite } from '../../local/bulk-write.js';

/**
 * Seeds a fresh tenant fast (BatchWriteItem plus its rollup counters, see `bulkWrite`); drafts
 * without a timestamp get "now". For big test fixtures only: never mix with other writers of the
 * same tenant and milliseconds.
 */
export const bulkSeed = (
  doc: DynamoDBDocumentClient,
  tables: { eventsTable: string; controlTable: string },
  tenant: string,
  drafts: readonly EventDraft[],
  concurrency = 8,
): Promise<AuditRecord[]> => {
  const now = Date.now();
  return bulkWrite(
    doc,
    tables,
    tenant,
    drafts.map((draft) => (draft.timestamp === undefined ? { ...draft, timestamp: now } : draft)),
    concurrency,
  );
};
