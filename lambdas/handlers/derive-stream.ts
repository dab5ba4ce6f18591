import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { log, withRequestLog } from '../adapters/log.js';
import { type DeriveStreamDependencies, deriveStreamDependencies } from '../composition/derivation.js';
import { environmentConfig } from '../composition/environment.js';
import type { DependenciesProvider } from '../http/context.js';
import { deriveChanges } from '../use-cases/derive-changes.js';

/**
 * The events table's stream consumer (ReportBatchItemFailures, BisectBatchOnFunctionError): runs
 * every derivation step over the batch and names the first record not applied, so Lambda resumes
 * there. Each record's effects are applied exactly once however often it is delivered.
 */
export const makeHandler =
  (dependencies: DependenciesProvider<DeriveStreamDependencies>) =>
  async (event: DynamoDBStreamEvent, _context?: unknown): Promise<DynamoDBBatchResponse> => {
    const { derivation, decode } = await dependencies();
    // Lambda's stream records are the Streams API's JSON; the composition root decodes them.
    const records = event.Records.map((record) => decode(record as Parameters<typeof decode>[0]));
    const outcome = await deriveChanges(derivation, records);
    if (outcome.resumeAt === undefined) return { batchItemFailures: [] };
    log.error('derivation stopped; the batch resumes at the failed record', {
      resumeAt: outcome.resumeAt,
      records: records.length,
      error: outcome.error instanceof Error ? outcome.error.name : String(outcome.error),
    });
    return { batchItemFailures: [{ itemIdentifier: outcome.resumeAt }] };
  };

export const handler = withRequestLog(makeHandler(() => deriveStreamDependencies(environmentConfig())));
