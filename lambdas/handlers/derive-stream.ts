import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { DynamoDbCounterStep, DynamoDbDerivationJournal } from '../adapters/dynamodb-derivation.js';
import { changeRecordOf, type RawStreamRecord } from '../adapters/stream-records.js';
import { log } from '../http/log.js';
import type { DerivationStep } from '../ports/derivation.js';
import { getServices } from '../services.js';
import { type DeriveDependencies, deriveChanges } from '../use-cases/derive-changes.js';

let dependencies: DeriveDependencies | undefined;

/** The journal and the derivation steps, in order, on the control table. */
export const derivationDependenciesFor = (
  doc: DynamoDBDocumentClient,
  controlTable: string,
): DeriveDependencies => {
  const steps: DerivationStep[] = [new DynamoDbCounterStep(doc, { controlTable })];
  return { journal: new DynamoDbDerivationJournal(doc, { controlTable }), steps };
};

/** The container's journal and steps, built once. */
const derivationDependencies = async (): Promise<DeriveDependencies> => {
  if (dependencies) return dependencies;
  const { doc, config } = await getServices();
  dependencies = derivationDependenciesFor(doc, config.CONTROL_TABLE);
  return dependencies;
};

/**
 * The events table's stream consumer (ReportBatchItemFailures, BisectBatchOnFunctionError): runs
 * every derivation step over the batch and names the first record not applied, so Lambda resumes
 * there. Each record's effects are applied exactly once however often it is delivered.
 */
export const handler = async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
  const records = event.Records.map((record) => changeRecordOf(record as RawStreamRecord));
  const outcome = await deriveChanges(await derivationDependencies(), records);
  if (outcome.resumeAt === undefined) return { batchItemFailures: [] };
  log.error('derivation stopped; the batch resumes at the failed record', {
    resumeAt: outcome.resumeAt,
    records: records.length,
    error: outcome.error instanceof Error ? outcome.error.name : String(outcome.error),
  });
  return { batchItemFailures: [{ itemIdentifier: outcome.resumeAt }] };
};
