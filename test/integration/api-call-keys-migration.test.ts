import { randomBytes } from 'node:crypto';
import { CreateTableCommand, DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { upgradeEventsTable } from '../../lambdas/adapters/dynamodb-api-call-keys.js';
import { DynamoDbEventStore } from '../../lambdas/adapters/dynamodb-event-store.js';
import { recordToItem } from '../../lambdas/adapters/dynamodb-records.js';
import { EVENTS_KEYS, eventsTableDefinition } from '../../lambdas/adapters/table-definitions.js';
import { MAX_ID } from '../../lambdas/domain/ids.js';
import { sealRecord } from '../../lambdas/domain/record.js';

describe('Function: upgradeEventsTable', () => {
  const table = `events-old-${randomBytes(4).toString('hex')}`;
  let dynamo: DynamoDBClient;
  let doc: DynamoDBDocumentClient;

  beforeAll(async () => {
    dynamo = new DynamoDBClient({
      endpoint: process.env.TEST_DYNAMODB_ENDPOINT,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    doc = DynamoDBDocumentClient.from(dynamo);
  });
  afterAll(async () => {
    await dynamo.send(new DeleteTableCommand({ TableName: table }));
    dynamo.destroy();
  });

  it('adds the byApiCall index to a table of the earlier layout and indexes its API calls', async () => {
    // Prepare: the earlier layout (no byApiCall; actorKey on every entry with an actor).
    const current = eventsTableDefinition(table);
    await dynamo.send(
      new CreateTableCommand({
        ...current,
        AttributeDefinitions: current.AttributeDefinitions?.filter(
          (attribute) => attribute.AttributeName !== EVENTS_KEYS.apiCallKey,
        ),
        GlobalSecondaryIndexes: current.GlobalSecondaryIndexes?.filter(
          (index) => index.IndexName !== EVENTS_KEYS.apiCallIndex,
        ),
      }),
    );
    const request = { uri: '/api/v1/x', method: 'GET', status: 200, query_parameters: {} };
    const records = [
      sealRecord('old', 1, 1_000, { action_type: 'user_login', user: 'ana@example.com' }),
      sealRecord('old', 2, 2_000, {
        action_type: 'api_request',
        api_key: { id: 'tok_00000000000000k1', name: 'K' },
        request,
      }),
      sealRecord('old', 3, 3_000, { action_type: 'user_logout', user: 'bob@example.com' }),
    ];
    for (const record of records) {
      const { [EVENTS_KEYS.apiCallKey]: _dropped, ...item } = recordToItem(record);
      await doc.send(
        new PutCommand({
          TableName: table,
          Item: { ...item, [EVENTS_KEYS.actorKey]: `old#${record.user ?? 'tok_00000000000000k1'}` },
        }),
      );
    }
    const store = new DynamoDbEventStore(doc, { eventsTable: table, controlTable: 'unused' });
    const page = (actor?: string) =>
      store.queryPage({
        tenant: 'old',
        selector: actor === undefined ? { kind: 'apiCalls' } : { kind: 'apiCalls', actor },
        minId: 0,
        maxId: MAX_ID,
        newestFirst: false,
        limit: 10,
      });

    // Act
    const first = await upgradeEventsTable(dynamo, current);
    const second = await upgradeEventsTable(dynamo, current);

    // Assess: only the API call is listed, by tenant and by its key; nothing else changed.
    expect(first).toEqual({ scanned: 3, indexed: 1 });
    expect(second).toBeUndefined();
    expect((await page()).records).toEqual([records[1]]);
    expect((await page('tok_00000000000000k1')).records).toEqual([records[1]]);
  });
});
