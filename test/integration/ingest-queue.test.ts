import { randomUUID } from 'node:crypto';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { handler } from '../../lambdas/handlers/ingest-queue.js';
import { startTestService, type TestService } from '../helpers/local-service.js';

/** An SQS record whose body is an EventBridge event, as a bus rule with an SQS target delivers it. */
const sqsRecord = (body: unknown, receiveCount = 1): SQSRecord => ({
  messageId: randomUUID(),
  receiptHandle: randomUUID(),
  body: typeof body === 'string' ? body : JSON.stringify(body),
  attributes: {
    ApproximateReceiveCount: String(receiveCount),
    SentTimestamp: String(Date.now()),
    SenderId: 'AIDAEXAMPLE',
    ApproximateFirstReceiveTimestamp: String(Date.now()),
  },
  messageAttributes: {},
  md5OfBody: '',
  eventSource: 'aws:sqs',
  eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:audit-ingest',
  awsRegion: 'us-east-1',
});

const busEvent = (tenant: string, events: unknown[], id: string = randomUUID()) => ({
  version: '0',
  id,
  source: 'com.example.billing',
  'detail-type': 'Audit events',
  account: '000000000000',
  time: new Date().toISOString(),
  region: 'us-east-1',
  resources: [],
  detail: { tenant, events },
});

describe('ingest-queue handler (EventBridge → SQS → Lambda)', () => {
  let service: TestService;

  const stored = async (tenant: string) => {
    const output = await service.services.doc.send(
      new QueryCommand({
        TableName: service.services.config.EVENTS_TABLE,
        KeyConditionExpression: 'tenant = :t',
        ExpressionAttributeValues: { ':t': tenant },
        ConsistentRead: true,
      }),
    );
    return output.Items ?? [];
  };

  beforeAll(async () => {
    service = await startTestService();
  });
  afterAll(async () => service.stop());

  it('stores every event of a batch under the tenant named in the detail', async () => {
    // Prepare
    const batch: SQSEvent = {
      Records: [
        sqsRecord(busEvent('queue-a', [{ action_type: 'invoice.paid' }, { action_type: 'invoice.sent' }])),
        sqsRecord(busEvent('queue-b', [{ action_type: 'user_login', user: 'bo@example.com' }])),
      ],
    };

    // Act
    const result = await handler(batch);

    // Assess
    expect(result).toEqual({ batchItemFailures: [] });
    expect((await stored('queue-a')).map((item) => item.action_type).sort()).toEqual([
      'invoice.paid',
      'invoice.sent',
    ]);
    expect(await stored('queue-b')).toHaveLength(1);
    expect(await service.services.counters.total('queue-a', { kind: 'all' })).toBe(2);
  });

  it('stores a redelivered message once', async () => {
    // Prepare
    const message = busEvent('queue-redelivery', [
      { action_type: 'a' },
      { action_type: 'b' },
      { action_type: 'c' },
    ]);

    // Act
    await handler({ Records: [sqsRecord(message, 1)] });
    await handler({ Records: [sqsRecord(message, 2), sqsRecord(message, 2)] });

    // Assess
    expect(await stored('queue-redelivery')).toHaveLength(3);
    expect(await service.services.counters.total('queue-redelivery', { kind: 'all' })).toBe(3);
  });

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
    expect(await stored('queue-mixed')).toHaveLength(1);
  });

  it('reports a message as failed when the store keeps refusing, and stores it on redelivery', async () => {
    // Prepare: every transaction throttled for the first delivery.
    const message = busEvent('queue-throttled', [{ action_type: 'a' }]);
    let throttling = true;
    service.services.doc.middlewareStack.add(
      (next, context) => async (args) => {
        if (throttling && context.commandName === 'TransactWriteItemsCommand') {
          const error = new Error('Rate exceeded');
          error.name = 'ThrottlingException';
          throw error;
        }
        return next(args);
      },
      { step: 'initialize', name: 'queueTestThrottle' },
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
      expect(await stored('queue-throttled')).toHaveLength(1);
    } finally {
      service.services.doc.middlewareStack.remove('queueTestThrottle');
    }
  });
});
