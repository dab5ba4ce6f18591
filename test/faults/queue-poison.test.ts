import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { handler } from '../../lambdas/handlers/ingest-queue.js';
import { awsError, injectFault, rollupMismatches, storedItems } from '../helpers/faults.js';
import { startTestService, type TestService } from '../helpers/local-service.js';
import { busEvent, sqsRecord } from '../helpers/sqs-events.js';

/**
 * Fault (f): poison and failing messages in the ingest queue handler (EventBridge → SQS → Lambda).
 * Invariant: only the failed messages are in `batchItemFailures` (so SQS retries just those and
 * sends a poison message to the DLQ after maxReceiveCount); every other event is stored exactly
 * once, however often SQS redelivers, and the rollup counters match the stored entries.
 */
describe('fault: a poison SQS message in the ingest queue', () => {
  let service: TestService;

  const actions = async (tenant: string) =>
    (await storedItems(service.services, tenant)).map((item) => String(item.action_type)).sort();

  beforeAll(async () => {
    service = await startTestService();
  });
  afterAll(async () => service.stop());

  it('reports only the poison messages as failed and stores the rest', async () => {
    // Prepare
    const good = sqsRecord(busEvent('queue-mixed', [{ action_type: 'ok' }]));
    const notJson = sqsRecord('{not json');
    const badEvent = sqsRecord(
      busEvent('queue-mixed', [{ action_type: 'ok' }, { action_type: 'bad action' }]),
    );
    const badTenant = sqsRecord(busEvent('#x', [{ action_type: 'ok' }]));
    const noEvents = sqsRecord(busEvent('queue-mixed', []));

    // Act
    const result = await handler({ Records: [good, notJson, badEvent, badTenant, noEvents] });

    // Assess
    expect(result.batchItemFailures.map((failure) => failure.itemIdentifier).sort()).toEqual(
      [notJson, badEvent, badTenant, noEvents].map((record) => record.messageId).sort(),
    );
    expect(await actions('queue-mixed')).toEqual(['ok']);
    expect(await rollupMismatches(service.services, 'queue-mixed')).toEqual([]);
  });

  it('stores the good messages of a batch exactly once when SQS redelivers the whole batch, then only the poison', async () => {
    // Prepare: a Lambda timeout makes SQS redeliver every message, then the partial batch
    // response makes it redeliver only the failure, up to maxReceiveCount.
    const tenant = 'queue-redelivered';
    const goods = [1, 2, 3].map((n) =>
      busEvent(
        tenant,
        Array.from({ length: 5 }, (_, k) => ({ action_type: `good.${n}`, user: `u${k}@example.com` })),
      ),
    );
    const poison = busEvent(tenant, [{ action_type: 'fine' }, { action_type: 42 }]);
    const deliver = (receiveCount: number) =>
      handler({
        Records: [
          ...goods.map((message) => sqsRecord(message, receiveCount)),
          sqsRecord(poison, receiveCount),
        ],
      });

    // Act
    const first = await deliver(1);
    const second = await deliver(2);
    const poisonOnly = [3, 4, 5].map((receiveCount) => sqsRecord(poison, receiveCount));
    const retries = [];
    for (const record of poisonOnly) retries.push(await handler({ Records: [record] }));

    // Assess
    expect(first.batchItemFailures).toHaveLength(1);
    expect(second.batchItemFailures).toHaveLength(1);
    expect(retries.map((result) => result.batchItemFailures.length)).toEqual([1, 1, 1]);
    expect(await actions(tenant)).toEqual(
      ['good.1', 'good.2', 'good.3'].flatMap((action) => Array<string>(5).fill(action)),
    );
    // Counted once the stream consumer has derived the writes.
    await service.settle();
    expect(await service.services.counters.total(tenant, { kind: 'all' })).toBe(15);
    expect(await rollupMismatches(service.services, tenant)).toEqual([]);
  });

  it('reports a message as failed when its write landed but the answer was lost, and its redelivery writes nothing twice', async () => {
    // Prepare: the first write of the tenant's entries is applied by DynamoDB Local, then the
    // connection "drops" (after the SDK's own retries), so the handler cannot know it was stored.
    const tenant = 'queue-lost-answer';
    const message = busEvent(
      tenant,
      // Back-dated (before any id slot's range): 60 conditional puts, side by side.
      Array.from({ length: 60 }, (_, n) => ({
        action_type: `lost.${n % 3}`,
        timestamp: Date.UTC(2026, 9, 1) + n * 3_600_000,
      })),
    );
    const other = busEvent('queue-bystander', [{ action_type: 'bystander' }]);
    let lost = 0;
    const removeFault = injectFault(
      service.services.doc,
      'loseFirstAnswer',
      (commandName, input) => {
        const text = JSON.stringify(input);
        const entryWrite = commandName === 'BatchWriteItemCommand' || commandName === 'PutItemCommand';
        if (!entryWrite || !text.includes(service.services.config.EVENTS_TABLE) || !text.includes(tenant))
          return undefined;
        return lost++ === 0 ? 'after' : undefined;
      },
      () => awsError('TimeoutError', 'socket hang up'),
    );
    const record = sqsRecord(message);
    const bystander = sqsRecord(other);

    // Act
    let first: Awaited<ReturnType<typeof handler>>;
    let landedFirst: number;
    try {
      first = await handler({ Records: [record, bystander] });
      landedFirst = (await storedItems(service.services, tenant)).length;
    } finally {
      removeFault();
    }
    const redelivered = await handler({ Records: [sqsRecord(message, 2)] });

    // Assess
    expect(first.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    // The other writes went on: everything landed, but one answer was lost, so the outcome was unknown.
    expect(landedFirst).toBe(60);
    expect(redelivered.batchItemFailures).toEqual([]);
    const stored = await storedItems(service.services, tenant);
    expect(stored).toHaveLength(60);
    expect(new Set(stored.map((item) => item.timestamp)).size).toBe(60);
    expect(await rollupMismatches(service.services, tenant)).toEqual([]);
    expect(await actions('queue-bystander')).toEqual(['bystander']);
  });

  it('reports a message as failed when the store keeps refusing, and stores it on redelivery', async () => {
    // Prepare: every write of an entry throttled for the first delivery.
    const message = busEvent('queue-throttled', [{ action_type: 'a' }]);
    let throttling = true;
    const removeFault = injectFault(
      service.services.doc,
      'queueTestThrottle',
      (commandName, input) =>
        throttling &&
        (commandName === 'BatchWriteItemCommand' || commandName === 'PutItemCommand') &&
        JSON.stringify(input).includes(service.services.config.EVENTS_TABLE)
          ? 'before'
          : undefined,
      () => awsError('ThrottlingException', 'Rate exceeded'),
    );
    const record = sqsRecord(message);

    try {
      // Act
      const first = await handler({ Records: [record] });
      throttling = false;
      const second = await handler({ Records: [sqsRecord(message, 2)] });

      // Assess
      expect(first.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
      expect(second.batchItemFailures).toEqual([]);
      expect(await actions('queue-throttled')).toEqual(['a']);
      expect(await rollupMismatches(service.services, 'queue-throttled')).toEqual([]);
    } finally {
      removeFault();
    }
  });
});
