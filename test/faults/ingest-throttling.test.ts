import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DynamoDbEventStore } from '../../lambdas/adapters/dynamodb-event-store.js';
import { API_REQUEST_ACTION } from '../../lambdas/domain/record.js';
import { ingestEvents } from '../../lambdas/use-cases/ingest-events.js';
import { seededRandom } from '../../local/demo-data.js';
import { awsError, injectFault, rollupMismatches, storedItems } from '../helpers/faults.js';
import { startTestService, type TestService } from '../helpers/local-service.js';

const EVENTS = '/api/v1/audit_trail/events';

/**
 * Fault (a): DynamoDB throttles ingest (ProvisionedThroughputExceededException, ThrottlingException
 * after the SDK's own retries), or applies a write whose answer is then lost. Invariant: every
 * acknowledged event is stored exactly once under the id it was acknowledged with, nothing
 * unacknowledged is stored twice, every API call is audited once, and every rollup counter
 * equals what the stored entries imply.
 */
describe('fault: DynamoDB throttles ingest', () => {
  let service: TestService;

  const post = (token: string, events: unknown[], headers: Record<string, string> = {}) =>
    service.request('POST', EVENTS, {
      headers: { 'content-type': 'application/json', 'x-api-key': token, ...headers },
      body: JSON.stringify({ events }),
    });

  /** The tenant's entries, split into ingested events and self-audit records of API calls. */
  const split = async (tenant: string) => {
    const items = await storedItems(service.services, tenant);
    return {
      events: items.filter((item) => item.action_type !== API_REQUEST_ACTION),
      calls: items.filter((item) => item.action_type === API_REQUEST_ACTION),
    };
  };

  beforeAll(async () => {
    service = await startTestService();
  });
  afterAll(async () => service.stop());

  it('stores every acknowledged event once, with exact counters, while a third of the entry writes and of the counter transactions are throttled', async () => {
    // Prepare: 6 producers × 4 requests × 25 events. A seeded third of the requests' BatchWriteItem
    // calls (the entry writes) and of the stream consumer's TransactWriteItems calls (the counter
    // updates) is refused as throttled after the SDK's retries. Ingest writes are counted apart:
    // at least 24 calls are certain, so the seeded draws refuse a known share of them, whereas
    // how many counter transactions there are depends on how the stream batches the writes.
    const tenant = 'throttled';
    const token = await service.token(tenant, ['ingest']);
    const random = seededRandom(3);
    const injected = { entryWrites: 0, counterTransactions: 0 };
    const removeFault = injectFault(
      service.services.doc,
      'throttleIngest',
      (commandName, input) => {
        const entryWrite =
          commandName === 'BatchWriteItemCommand' && JSON.stringify(input).includes('throttle.');
        const counterTransaction = commandName === 'TransactWriteItemsCommand';
        if ((!entryWrite && !counterTransaction) || random() >= 1 / 3) return undefined;
        if (entryWrite) injected.entryWrites += 1;
        else injected.counterTransactions += 1;
        return 'before';
      },
      () =>
        (injected.entryWrites + injected.counterTransactions) % 2 === 0
          ? awsError(
              'ProvisionedThroughputExceededException',
              'The level of configured provisioned throughput for the table was exceeded.',
            )
          : awsError('ThrottlingException', 'Rate of requests exceeds the allowed throughput.'),
    );
    const acknowledged: number[] = [];
    const statuses: number[] = [];

    // Act
    try {
      await Promise.all(
        Array.from({ length: 6 }, async (_, producer) => {
          for (let request = 0; request < 4; request += 1) {
            const response = await post(
              token,
              Array.from({ length: 25 }, (_, n) => ({
                action_type: `throttle.${n % 3}`,
                user: `user${(producer + n) % 5}@example.com`,
                message: `producer ${producer} request ${request} event ${n}`,
              })),
            );
            statuses.push(response.status);
            acknowledged.push(...((response.body as { ids?: number[] }).ids ?? []));
          }
        }),
      );
      // The counters are derived behind the answers: keep the fault on until they are.
      await service.settle();
    } finally {
      removeFault();
    }

    // Assess
    expect(injected.entryWrites).toBeGreaterThan(5);
    expect(statuses).toEqual(Array<number>(24).fill(201));
    const { events, calls } = await split(tenant);
    expect(events).toHaveLength(600);
    const ids = events.map((item) => item.id as number).sort((a, b) => a - b);
    expect(new Set(ids).size).toBe(600);
    expect([...acknowledged].sort((a, b) => a - b)).toEqual(ids);
    expect(new Set(events.map((item) => item.message)).size).toBe(600);
    expect(calls).toHaveLength(24);
    expect(await rollupMismatches(service.services, tenant)).toEqual([]);
  });

  it('answers a retry with the same Idempotency-Key with the same ids, writing nothing twice, when a write landed but its answer was lost', async () => {
    // Prepare: the request's second BatchWriteItem call is applied by DynamoDB Local, then its
    // answer is lost after the SDK's retries (a dropped connection), so the request fails: its
    // outcome is unknown.
    const tenant = 'lost-answer';
    const token = await service.token(tenant, ['ingest']);
    // 60 events: three BatchWriteItem calls.
    const events = Array.from({ length: 60 }, (_, n) => ({
      action_type: `lost.${n % 4}`,
      user: `u${n}@example.com`,
    }));
    let transactions = 0;
    const removeFault = injectFault(
      service.services.doc,
      'loseSecondAnswer',
      (commandName, input) => {
        if (commandName !== 'BatchWriteItemCommand' || !JSON.stringify(input).includes('lost.'))
          return undefined;
        return ++transactions === 2 ? 'after' : undefined;
      },
      () => awsError('TimeoutError', 'socket hang up'),
    );

    // Act
    let first: { status: number; body: unknown };
    let landed: number;
    try {
      first = await post(token, events, { 'idempotency-key': 'lost-1' });
      landed = (await split(tenant)).events.length;
    } finally {
      removeFault();
    }
    const retry = await post(token, events, { 'idempotency-key': 'lost-1' });
    const again = await post(token, events, { 'idempotency-key': 'lost-1' });

    // Assess
    expect(transactions).toBe(3);
    expect(first.status).toBe(503);
    expect(first.body).toEqual({
      result: 'error',
      message: expect.stringContaining('retry with the same Idempotency-Key'),
    });
    // The calls run side by side: every one landed, but one answer was lost.
    expect(landed).toBe(60);
    expect(retry.status).toBe(201);
    expect(again.body).toEqual(retry.body);
    const stored = await split(tenant);
    const ids = (retry.body as { ids: number[] }).ids;
    expect(stored.events.map((item) => item.id as number).sort((a, b) => a - b)).toEqual(
      [...ids].sort((a, b) => a - b),
    );
    expect(stored.events.map((item) => item.user).sort()).toEqual(events.map((event) => event.user).sort());
    expect(stored.calls.map((item) => (item.request as { status: number }).status).sort()).toEqual([
      201, 201, 503,
    ]);
    expect(await rollupMismatches(service.services, tenant)).toEqual([]);
  });

  it('reports the ids a partly failed request wrote, and a retry with the same key completes it', async () => {
    // Prepare: 100 events need four BatchWriteItem calls; every call after the first is throttled
    // past a short retry budget.
    const { doc, config, idempotency } = service.services;
    const events = new DynamoDbEventStore(doc, {
      eventsTable: config.EVENTS_TABLE,
      controlTable: config.CONTROL_TABLE,
      backoff: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
    });
    let transactions = 0;
    let failing = true;
    const removeFault = injectFault(
      doc,
      'failLaterChunks',
      (commandName, input) =>
        commandName === 'BatchWriteItemCommand' &&
        JSON.stringify(input).includes('chunk.') &&
        failing &&
        ++transactions > 1
          ? 'before'
          : undefined,
      () => awsError('ThrottlingException', 'Rate exceeded'),
    );
    const drafts = Array.from({ length: 100 }, (_, n) => ({
      action_type: `chunk.${n % 5}`,
      user: `u${n % 9}`,
    }));
    const request = { tenant: 'partial-tenant', drafts, idempotency: { key: 'partial-1', bodyHash: 'p' } };
    let message = '';
    try {
      // Act
      await ingestEvents({ events, idempotency }, request).catch((error: Error) => {
        message = error.message;
      });
      failing = false;
      const writtenFirst = (await split('partial-tenant')).events.length;
      const retry = await ingestEvents({ events, idempotency }, request);

      // Assess
      expect(writtenFirst).toBeGreaterThan(0);
      expect(writtenFirst).toBeLessThan(100);
      expect(message).toContain(`only ${writtenFirst} of 100 events were written`);
      const stored = (await split('partial-tenant')).events;
      expect(stored).toHaveLength(100);
      expect(new Set(retry.ids)).toEqual(new Set(stored.map((item) => item.id as number)));
      expect(await rollupMismatches(service.services, 'partial-tenant')).toEqual([]);
    } finally {
      removeFault();
    }
  });
});
