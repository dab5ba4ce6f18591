import type { DynamoDBStreamEvent } from 'aws-lambda';
import { changeRecordOf } from '../../../lambdas/adapters/stream-records.js';
import { makeHandler } from '../../../lambdas/handlers/derive-stream.js';
import type { ChangeRecord, JournalEntry } from '../../../lambdas/ports/derivation.js';
import { captureLogs } from '../../helpers/logs.js';

/** Lambda's DynamoDB stream event with `count` inserts of entries. */
const streamEvent = (count: number): DynamoDBStreamEvent => ({
  Records: Array.from({ length: count }, (_, index) => ({
    eventID: `event-${index}`,
    eventName: 'INSERT' as const,
    dynamodb: {
      SequenceNumber: String(1000 + index),
      Keys: { tenant: { S: 'acme' }, id: { N: String(index) } },
      NewImage: { tenant: { S: 'acme' }, id: { N: String(index) }, action_type: { S: 'a' } },
      StreamViewType: 'NEW_AND_OLD_IMAGES' as const,
    },
  })),
});

describe('the derive-stream handler', () => {
  it('decodes the records, applies them in order and answers no failures', async () => {
    // Prepare
    const applied: ChangeRecord[] = [];
    const handler = makeHandler(() => ({
      decode: changeRecordOf,
      derivation: {
        journal: { find: async () => undefined, alias: async () => undefined },
        steps: [
          {
            name: 'seen',
            packer: () => ({ add: () => true }),
            apply: async (chunk: readonly ChangeRecord[]) => {
              applied.push(...chunk);
              return 'applied' as const;
            },
          },
        ],
      },
    }));

    // Act
    const response = await handler(streamEvent(3));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(applied.map((record) => [record.eventId, record.kind, record.newImage?.id])).toEqual([
      ['event-0', 'insert', 0],
      ['event-1', 'insert', 1],
      ['event-2', 'insert', 2],
    ]);
  });

  it('names the first record not applied, so Lambda resumes there, and logs it', async () => {
    // Prepare: chunks of two; the second chunk's write fails.
    let chunks = 0;
    const handler = makeHandler(() => ({
      decode: changeRecordOf,
      derivation: {
        journal: { find: async () => undefined, alias: async (_entry: JournalEntry) => undefined },
        steps: [
          {
            name: 'counters',
            packer: () => {
              let size = 0;
              return {
                add: () => {
                  size += 1;
                  return size <= 2;
                },
              };
            },
            apply: async () => {
              chunks += 1;
              if (chunks === 2) throw Object.assign(new Error('throttled'), { name: 'ThrottlingException' });
              return 'applied' as const;
            },
          },
        ],
      },
    }));
    const logs = captureLogs();
    try {
      // Act
      const response = await handler(streamEvent(5));

      // Assess
      expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: '1002' }] });
      expect(logs.entries().filter((entry) => entry.level === 'error')).toEqual([
        expect.objectContaining({
          message: 'derivation stopped; the batch resumes at the failed record',
          resumeAt: '1002',
          error: 'ThrottlingException',
        }),
      ]);
    } finally {
      logs.restore();
    }
  });
});
