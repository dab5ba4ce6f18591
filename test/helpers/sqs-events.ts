import { randomUUID } from 'node:crypto';
import type { SQSRecord } from 'aws-lambda';

/** An SQS record whose body is an EventBridge event, as a bus rule with an SQS target delivers it. */
export const sqsRecord = (body: unknown, receiveCount = 1): SQSRecord => ({
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

/** An EventBridge event carrying `events` for `tenant`, as producers put them on the bus. */
export const busEvent = (tenant: string, events: unknown[], id: string = randomUUID()) => ({
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
