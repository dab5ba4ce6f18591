import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterEach, describe, expect, it } from '@jest/globals';
import { batchWriteAll, type WriteRequest } from '../../lambdas/adapters/dynamodb-batch-write.js';
import { TooManyRequestsError } from '../../lambdas/domain/errors.js';
import { awsError, type MiddlewareClient } from '../helpers/faults.js';

const TABLE = 'events';
const FAST = { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2 };

/** One BatchWriteItem call as the mocked table saw it. */
type Answer = { unprocessed: number } | { error: Error };

/**
 * A document client whose BatchWriteItem calls never reach the network: `answer(call)` says how
 * many of the call's requests (the last ones) come back unprocessed, or what it throws. This is
 * the fault injection the emulator cannot do on demand (DynamoDB throttling a partition).
 */
const mockedClient = (answer: (call: number, requests: number) => Answer) => {
  const doc = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:9',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    }),
  );
  const calls: number[] = [];
  (doc as unknown as MiddlewareClient).middlewareStack.add(
    () => async (args) => {
      const input = args.input as { RequestItems: Record<string, WriteRequest[]> };
      const requests = input.RequestItems[TABLE] ?? [];
      calls.push(requests.length);
      const answered = answer(calls.length, requests.length);
      if ('error' in answered) throw answered.error;
      const held = answered.unprocessed > 0 ? requests.slice(requests.length - answered.unprocessed) : [];
      return { output: { $metadata: {}, UnprocessedItems: held.length > 0 ? { [TABLE]: held } : {} } };
    },
    { step: 'initialize', name: 'mockBatchWrite' },
  );
  clients.push(doc);
  return { doc, calls };
};

const clients: DynamoDBDocumentClient[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.destroy();
});

const puts = (count: number): WriteRequest[] =>
  Array.from({ length: count }, (_, n) => ({ PutRequest: { Item: { tenant: 't', id: n } } }));

describe('Function: batchWriteAll', () => {
  it('sends 25 requests a call and resends only what came back unprocessed until none is left', async () => {
    // Prepare: the first call leaves 10 unprocessed, the retry 4, the next takes the rest.
    const { doc, calls } = mockedClient((call) => ({ unprocessed: [10, 4][call - 1] ?? 0 }));
    const written: number[] = [];

    // Act
    await batchWriteAll(doc, TABLE, puts(30), { backoff: FAST, onWritten: (n) => written.push(n) });

    // Assess
    expect(calls).toEqual([25, 10, 4, 5]);
    expect(written).toEqual([25, 5]);
  });

  it('stops with TooManyRequestsError after maxAttempts calls when requests stay unprocessed', async () => {
    // Prepare: the table never applies anything.
    const { doc, calls } = mockedClient((_, requests) => ({ unprocessed: requests }));

    // Act
    const failure = batchWriteAll(doc, TABLE, puts(30), { backoff: FAST });

    // Assess: three attempts of the first batch, then nothing more is sent.
    await expect(failure).rejects.toBeInstanceOf(TooManyRequestsError);
    await expect(failure).rejects.toThrow('kept 25 of 25 writes unprocessed after 3 attempts');
    expect(calls).toEqual([25, 25, 25]);
  });

  it('retries a call throttled after the SDK gave up, within the same attempt budget', async () => {
    // Prepare
    const { doc, calls } = mockedClient((call) =>
      call <= 2 ? { error: awsError('ProvisionedThroughputExceededException') } : { unprocessed: 0 },
    );

    // Act
    await batchWriteAll(doc, TABLE, puts(3), { backoff: FAST });

    // Assess
    expect(calls).toEqual([3, 3, 3]);
  });

  it('passes any other error on at once', async () => {
    // Prepare
    const { doc, calls } = mockedClient(() => ({ error: awsError('ValidationException', 'bad key') }));

    // Act / Assess
    await expect(batchWriteAll(doc, TABLE, puts(3), { backoff: FAST })).rejects.toThrow('bad key');
    expect(calls).toEqual([3]);
  });

  it('keeps `concurrency` calls in flight and writes every batch once', async () => {
    // Prepare
    const { doc, calls } = mockedClient(() => ({ unprocessed: 0 }));

    // Act
    await batchWriteAll(doc, TABLE, puts(110), { backoff: FAST, concurrency: 3 });

    // Assess
    expect(calls.sort((a, b) => a - b)).toEqual([10, 25, 25, 25, 25]);
  });
});
