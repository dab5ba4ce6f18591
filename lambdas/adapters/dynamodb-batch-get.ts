import { BatchGetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { TooManyRequestsError } from '../domain/errors.js';
import { type BackoffPolicy, backoffDelay, DEFAULT_BACKOFF, isThrottle } from './backoff.js';

/** DynamoDB's limit on keys in one BatchGetItem call. */
export const MAX_BATCH_GET_KEYS = 100;

export interface BatchGetOptions {
  /** Attempts per call (UnprocessedKeys and throttling retried) and the pause between them. */
  readonly backoff?: BackoffPolicy;
  readonly random?: () => number;
  /** Calls in flight at once (each its own batch of 100). */
  readonly concurrency?: number;
  readonly consistent?: boolean;
}

/**
 * Reads the items at `keys` of `table` with BatchGetItem, 100 keys a call: keys a call leaves
 * unprocessed (or a call throttled after the SDK's own retries) are asked again after a jittered
 * backoff, at most `backoff.maxAttempts` attempts a call; then TooManyRequestsError. Returns the
 * items found, in no particular order (missing keys have none).
 */
export const batchGetAll = async (
  doc: DynamoDBDocumentClient,
  table: string,
  keys: readonly Record<string, unknown>[],
  options: BatchGetOptions = {},
): Promise<Record<string, unknown>[]> => {
  const backoff = options.backoff ?? DEFAULT_BACKOFF;
  const random = options.random ?? Math.random;
  const items: Record<string, unknown>[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < keys.length) {
      const batch = keys.slice(next, next + MAX_BATCH_GET_KEYS);
      next += batch.length;
      let pending = batch;
      for (let attempt = 1; ; attempt += 1) {
        try {
          const output = await doc.send(
            new BatchGetCommand({
              RequestItems: { [table]: { Keys: [...pending], ConsistentRead: options.consistent ?? true } },
            }),
          );
          items.push(...(output.Responses?.[table] ?? []));
          pending = (output.UnprocessedKeys?.[table]?.Keys ?? []) as Record<string, unknown>[];
        } catch (error) {
          if (!isThrottle(error)) throw error;
        }
        if (pending.length === 0) break;
        if (attempt >= backoff.maxAttempts) {
          throw new TooManyRequestsError(
            `The store kept ${pending.length} of ${batch.length} reads unprocessed after ${attempt} attempts.`,
          );
        }
        await backoffDelay(backoff, attempt, random);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 1) }, worker));
  return items;
};
