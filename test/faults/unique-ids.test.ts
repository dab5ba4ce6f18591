import { randomBytes } from 'node:crypto';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { paginateQuery } from '@aws-sdk/lib-dynamodb';
import { createDynamoDbDocumentClient } from '../../lambdas/adapters/aws-clients.js';
import { DynamoDbEventStore } from '../../lambdas/adapters/dynamodb-event-store.js';
import { controlTableDefinition, eventsTableDefinition } from '../../lambdas/adapters/table-definitions.js';
import { isSlotId } from '../../lambdas/domain/id-slots.js';
import type { AuditRecord, EventDraft } from '../../lambdas/domain/record.js';

const endpoint = process.env.TEST_DYNAMODB_ENDPOINT as string;

/**
 * Ids are unique by construction: each writer's plain writes use its own slot, so BatchWriteItem,
 * which overwrites silently, can never replace another writer's entry.
 */
describe('many writers in the same millisecond', () => {
  it('never overwrite an entry: every acknowledged entry is stored as written', async () => {
    const suffix = randomBytes(4).toString('hex');
    const tables = { eventsTable: `events-${suffix}`, controlTable: `control-${suffix}` };
    const dynamo = new DynamoDBClient({
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    await dynamo.send(new CreateTableCommand(eventsTableDefinition(tables.eventsTable)));
    await dynamo.send(new CreateTableCommand(controlTableDefinition(tables.controlTable)));
    dynamo.destroy();
    const doc = createDynamoDbDocumentClient({ region: 'us-east-1', dynamoDbEndpoint: endpoint });

    // Every writer's clock is stuck on the same millisecond. Most drafts are stamped "now"; some
    // carry that very millisecond as their own timestamp; a few are back-dated to one millisecond
    // before any reservation began, which only conditional ids can take (and where writers'
    // random candidates collide and are retried).
    const instant = Date.UTC(2026, 10, 30, 12, 0, 0, 0);
    const writers = Array.from(
      { length: 24 },
      () => new DynamoDbEventStore(doc, { ...tables, clock: () => instant }),
    );
    const drafts = (writer: number, round: number): EventDraft[] =>
      Array.from({ length: 50 }, (_, index) => ({
        action_type: `w${writer}.r${round}.${index}`,
        ...(index === 0 ? { timestamp: instant } : {}),
        ...(index === 1 && round < 2 ? { timestamp: instant - 3_600_000 } : {}),
      }));
    const acknowledged: AuditRecord[] = [];
    await Promise.all(
      writers.map(async (writer, n) => {
        for (let round = 0; round < 3; round += 1) {
          acknowledged.push(...(await writer.append('acme', drafts(n, round))));
        }
      }),
    );

    const stored = new Map<number, Record<string, unknown>>();
    for await (const page of paginateQuery(
      { client: doc },
      {
        TableName: tables.eventsTable,
        KeyConditionExpression: 'tenant = :t',
        ExpressionAttributeValues: { ':t': 'acme' },
        ConsistentRead: true,
      },
    )) {
      for (const item of page.Items ?? []) stored.set(item.id as number, item);
    }
    expect(acknowledged).toHaveLength(24 * 3 * 50);
    expect(new Set(acknowledged.map((record) => record.id)).size).toBe(acknowledged.length);
    expect(stored.size).toBe(acknowledged.length);
    for (const record of acknowledged) expect(stored.get(record.id)?.hash).toBe(record.hash);
    // Both kinds of id were exercised: plain slot writes and conditional ones.
    expect(acknowledged.some((record) => isSlotId(record.id))).toBe(true);
    expect(acknowledged.some((record) => !isSlotId(record.id))).toBe(true);
    doc.destroy();
  });
});
