import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { SQSEvent } from 'aws-lambda';
import { handler } from '../../lambdas/handlers/ingest-queue.js';
import { startTestService, type TestService } from '../helpers/local-service.js';
import { busEvent, sqsRecord } from '../helpers/sqs-events.js';

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
    await service.settle();
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
    await service.settle();
    expect(await service.services.counters.total('queue-redelivery', { kind: 'all' })).toBe(3);
  });
});
