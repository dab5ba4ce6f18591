import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { TooManyRequestsError } from '../domain/errors.js';
import { type BackoffPolicy, backoffDelay, DEFAULT_BACKOFF, isThrottle } from './backoff.js';

/** One request of a BatchWriteItem call. */
export type WriteRequest =
  | { readonly PutRequest: { readonly Item: Record<string, unknown> } }
  | { readonly DeleteRequest: { readonly Key: Record<string, unknown> } };

/** DynamoDB's limit on requests in one BatchWriteItem call. */
export const MAX_BATCH_WRITE_REQUESTS = 25;

export interface BatchWriteOptions {
  /** Attempts per call (UnprocessedItems and throttling retried) and the pause between them. */
  readonly backoff?: BackoffPolicy;
  readonly random?: () => number;
  /** Calls in flight at once (each its own batch of 25); 1 keeps them one at a time. */
  readonly concurrency?: number;
  /** Hears of each call's requests once all of them are applied. */
  readonly onWritten?: (count: number) => void;
}

/**
 * Applies `requests` to `table` with BatchWriteItem, 25 a call: what a call leaves unprocessed (or
 * a call throttled after the SDK's own retries) is sent again after a jittered backoff, at most
 * `backoff.maxAttempts` attempts a call; then TooManyRequestsError (the requests not yet applied
 * may be sent again: puts and deletes of whole items are idempotent).
 */
export const batchWriteAll = async (
  doc: DynamoDBDocumentClient,
  table: string,
  requests: readonly WriteRequest[],
  options: BatchWriteOptions = {},
): Promise<void> => {
  const backoff = options.backoff ?? DEFAULT_BACKOFF;
  const random = options.random ?? Math.random;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < requests.length) {
      const batch = requests.slice(next, next + MAX_BATCH_WRITE_REQUESTS);
      next += batch.length;
      await writeBatch(doc, table, batch, backoff, random);
      options.onWritten?.(batch.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 1) }, worker));
};

const writeBatch = async (
  doc: DynamoDBDocumentClient,
  table: string,
  batch: readonly WriteRequest[],
  backoff: BackoffPolicy,
  random: () => number,
): Promise<void> => {
  let pending = batch;
  for (let attempt = 1; ; attempt += 1) {
    try {
      const output = await doc.send(new BatchWriteCommand({ RequestItems: { [table]: [...pending] } }));
      pending = (output.UnprocessedItems?.[table] ?? []) as WriteRequest[];
    } catch (error) {
      if (!isThrottle(error)) throw error;
    }
    if (pending.length === 0) return;
    if (attempt >= backoff.maxAttempts) {
      throw new TooManyRequestsError(
        `The store kept ${pending.length} of ${batch.length} writes unprocessed after ${attempt} attempts.`,
      );
    }
    await backoffDelay(backoff, attempt, random);
  }
};
