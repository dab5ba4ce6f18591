import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { log, withRequestLog } from '../adapters/log.js';
import { changeRecordOf, type RawStreamRecord } from '../adapters/stream-records.js';
import { derivationDependencies } from '../composition/derivation.js';
import { environmentConfig } from '../composition/environment.js';
import type { DependenciesProvider } from '../http/context.js';
import { type DeriveDependencies, deriveChanges } from '../use-cases/derive-changes.js';

/**
 * The events table's stream consumer (ReportBatchItemFailures, BisectBatchOnFunctionError): runs
 * every derivation step over the batch and names the first record not applied, so Lambda resumes
 * there. Each record's effects are applied exactly once however often it is delivered.
 */
export const makeHandler =
  (dependencies: DependenciesProvider<DeriveDependencies>) =>
  async (event: DynamoDBStreamEvent, _context?: unknown): Promise<DynamoDBBatchResponse> => {
    const records = event.Records.map((record) => changeRecordOf(record as RawStreamRecord));
    const outcome = await deriveChanges(await dependencies(), records);
    if (outcome.resumeAt === undefined) return { batchItemFailures: [] };
    log.error('derivation stopped; the batch resumes at the failed record', {
      resumeAt: outcome.resumeAt,
      records: records.length,
      error: outcome.error instanceof Error ? outcome.error.name : String(outcome.error),
    });
    return { batchItemFailures: [{ itemIdentifier: outcome.resumeAt }] };
  };

export const handler = withRequestLog(makeHandler(() => derivationDependencies(environmentConfig())));
