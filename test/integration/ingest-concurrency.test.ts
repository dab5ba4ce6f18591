import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { paginateQuery, paginateScan } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { counterItemDeltas } from '../../lambdas/adapters/dynamodb-counters.js';
import { tenantCounterPrefix } from '../../lambdas/adapters/dynamodb-keys.js';
import { timestampOfId } from '../../lambdas/domain/ids.js';
import type { AuditRecord } from '../../lambdas/domain/record.js';
import { seededRandom } from '../../local/demo-data.js';
import { startTestService, type TestService } from '../helpers/local-service.js';

const PRODUCERS = 20;
const EVENTS_PER_PRODUCER = 500;
const TENANT = 'busy';

describe('ingest under concurrency, client retries and injected throttling', () => {
  let service: TestService;
  let token: string;
  let injected = 0;

  beforeAll(async () => {
    service = await startTestService();
    token = await service.token(TENANT, ['ingest']);
    // Faults on the real client, before it sends: the emulator stays underneath. They hit the
    // entries' writes (BatchWriteItem) and the stream consumer's counter transactions alike.
    const random = seededRandom(7);
    service.services.doc.middlewareStack.add(
      (next, context) => async (args) => {
        const faulted = ['TransactWriteItemsCommand', 'BatchWriteItemCommand'].includes(
          context.commandName ?? '',
        );
        if (faulted && random() < 0.05) {
          injected += 1;
          // BatchWriteItem is throttled; a transaction (the consumer's) is throttled or conflicts.
          if (context.commandName === 'BatchWriteItemCommand' || random() < 0.5) {
            const error = new Error('Rate of requests exceeds the allowed throughput.');
            error.name = 'ThrottlingException';
            throw error;
          }
          throw new TransactionCanceledException({
            message: 'Transaction cancelled',
            $metadata: {},
            CancellationReasons: [{ Code: 'TransactionConflict' }],
          });
        }
        return next(args);
      },
      { step: 'initialize', name: 'injectFaults' },
    );
  });
  afterAll(async () => {
    service.services.doc.middlewareStack.remove('injectFaults');
    await service.stop();
  });

  it('stores exactly 10,000 entries with unique, time-ordered ids and exact counters', async () => {
    // Prepare
    const random = seededRandom(11);
    const answered = new Map<string, number[]>();
    const post = (key: string, body: string) =>
      service.request('POST', '/api/v1/audit_trail/events', {
        headers: { 'content-type': 'application/json', 'x-api-key': token, 'idempotency-key': key },
        body,
      });

    // Act: each producer sends 5 requests of 100; some are retried, some twice at once.
    await Promise.all(
      Array.from({ length: PRODUCERS }, async (_, producer) => {
        for (let request = 0; request < EVENTS_PER_PRODUCER / 100; request += 1) {
          const key = `p${producer}-r${request}`;
          const body = JSON.stringify({
            events: Array.from({ length: 100 }, (_, n) => ({
              action_type: `load.${(producer + n) % 4}`,
              user: `user${n % 7}@example.com`,
              message: `producer ${producer} request ${request} event ${n}`,
            })),
          });
          const attempts = random() < 0.1 ? [post(key, body), post(key, body)] : [post(key, body)];
          const responses = await Promise.all(attempts);
          if (random() < 0.3) responses.push(await post(key, body));
          for (const response of responses) {
            expect(response.status).toBe(201);
            const ids = (response.body as { ids: number[] }).ids;
            expect(answered.get(key) ?? ids).toEqual(ids);
            answered.set(key, ids);
          }
        }
      }),
    );

    // Assess
    const items: Record<string, unknown>[] = [];
    for await (const output of paginateQuery(
      { client: service.services.doc },
      {
        TableName: service.services.config.EVENTS_TABLE,
        KeyConditionExpression: 'tenant = :t',
        ExpressionAttributeValues: { ':t': TENANT },
        ConsistentRead: true,
      },
    )) {
      items.push(...(output.Items ?? []));
    }
    const events = items.filter((item) => item.action_type !== 'api_request');
    expect(injected).toBeGreaterThan(0);
    expect(events).toHaveLength(PRODUCERS * EVENTS_PER_PRODUCER);
    const ids = events.map((item) => item.id as number);
    expect(new Set(ids).size).toBe(ids.length);
    for (const item of events) expect(timestampOfId(item.id as number)).toBe(item.timestamp);
    const answeredIds = [...answered.values()].flat().sort((a, b) => a - b);
    expect(answeredIds).toEqual([...ids].sort((a, b) => a - b));
    // Each producer's later requests got later ids.
    for (let producer = 0; producer < PRODUCERS; producer += 1) {
      for (let request = 1; request < EVENTS_PER_PRODUCER / 100; request += 1) {
        const previous = answered.get(`p${producer}-r${request - 1}`) ?? [];
        const current = answered.get(`p${producer}-r${request}`) ?? [];
        expect(Math.min(...current)).toBeGreaterThan(Math.max(...previous));
      }
    }

    // Every rollup counter (all shards added up) equals what the stored entries imply, once the
    // stream consumer has derived every write.
    await service.settle();
    const expected = new Map<string, number>();
    for (const { key, delta } of counterItemDeltas(items as unknown as AuditRecord[], 1, 0)) {
      expected.set(`${key.pk}|${key.sk.replace(/\d+$/, '')}`, delta);
    }
    const actual = new Map<string, number>();
    for await (const output of paginateScan(
      { client: service.services.doc },
      {
        TableName: service.services.config.CONTROL_TABLE,
        ConsistentRead: true,
      },
    )) {
      for (const item of output.Items ?? []) {
        const pk = String(item.pk);
        if (!pk.startsWith(tenantCounterPrefix(TENANT))) continue;
        const id = `${pk}|${String(item.sk).replace(/\d+$/, '')}`;
        actual.set(id, (actual.get(id) ?? 0) + Number(item.n));
      }
    }
    expect(Object.fromEntries(actual)).toEqual(Object.fromEntries(expected));
    expect(await service.services.counters.total(TENANT, { kind: 'all' })).toBe(items.length);
  }, 600_000);
});
