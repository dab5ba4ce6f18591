import {
  ConditionalCheckFailedException,
  type CreateTableCommandInput,
  DescribeTableCommand,
  type DynamoDBClient,
  UpdateTableCommand,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, paginateScan, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { EVENTS_KEYS } from './table-definitions.js';

/** Sends a conditional update; false when its item is gone (purged meanwhile) or changed. */
const updated = async (doc: DynamoDBDocumentClient, command: UpdateCommand): Promise<boolean> => {
  try {
    await doc.send(command);
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
};

/** What a migration pass changed. */
export interface ApiCallKeysMigration {
  readonly scanned: number;
  /** API-call entries given their `apiCallKey` (the byApiCall index). */
  readonly indexed: number;
}

/**
 * Brings entries written before the api-key dialect's sparse indexes to the current layout
 * (table-definitions.ts): entries with `request` get `apiCallKey`. Only index keys change, never a record's content or hash; each update is
 * conditional on the item still being as read, and a second pass changes nothing.
 */
export const migrateApiCallKeys = async (
  doc: DynamoDBDocumentClient,
  eventsTable: string,
): Promise<ApiCallKeysMigration> => {
  let scanned = 0;
  let indexed = 0;
  const pages = paginateScan(
    { client: doc },
    {
      TableName: eventsTable,
      ProjectionExpression: '#t, #id, #request.#uri, #apiCall',
      ExpressionAttributeNames: {
        '#t': EVENTS_KEYS.partition,
        '#id': EVENTS_KEYS.sort,
        '#request': 'request',
        '#uri': 'uri',
        '#apiCall': EVENTS_KEYS.apiCallKey,
      },
    },
  );
  for await (const page of pages) {
    for (const item of page.Items ?? []) {
      scanned += 1;
      const key = {
        [EVENTS_KEYS.partition]: item[EVENTS_KEYS.partition],
        [EVENTS_KEYS.sort]: item[EVENTS_KEYS.sort],
      };
      const isApiCall = item.request !== undefined;
      if (isApiCall && item[EVENTS_KEYS.apiCallKey] === undefined) {
        if (
          !(await updated(
            doc,
            new UpdateCommand({
              TableName: eventsTable,
              Key: key,
              UpdateExpression: 'SET #apiCall = #t',
              ConditionExpression: 'attribute_exists(#request) AND attribute_not_exists(#apiCall)',
              ExpressionAttributeNames: {
                '#apiCall': EVENTS_KEYS.apiCallKey,
                '#t': EVENTS_KEYS.partition,
                '#request': 'request',
              },
            }),
          ))
        )
          continue;
        indexed += 1;
      }
    }
  }
  return { scanned, indexed };
};

/**
 * Adds the GSIs of `definition` that the existing table lacks (DynamoDB creates one per
 * UpdateTable call), then migrates its entries to the sparse api-key layout. For tables created
 * before byApiCall (the local stack's `.local/data`); in AWS the CDK construct adds the index and
 * `scripts/migrate-api-call-keys.ts` migrates the entries.
 */
export const upgradeEventsTable = async (
  dynamo: DynamoDBClient,
  definition: CreateTableCommandInput,
): Promise<ApiCallKeysMigration | undefined> => {
  const { Table } = await dynamo.send(new DescribeTableCommand({ TableName: definition.TableName }));
  if (definition.StreamSpecification && !Table?.StreamSpecification?.StreamEnabled) {
    // Tables made before derivation moved behind the stream: entries already there were counted
    // when they were written; the stream carries everything from now on.
    await dynamo.send(
      new UpdateTableCommand({
        TableName: definition.TableName,
        StreamSpecification: definition.StreamSpecification,
      }),
    );
  }
  const existing = new Set((Table?.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName));
  const missing = (definition.GlobalSecondaryIndexes ?? []).filter((index) => !existing.has(index.IndexName));
  if (missing.length === 0) return undefined;
  for (const index of missing) {
    await dynamo.send(
      new UpdateTableCommand({
        TableName: definition.TableName,
        AttributeDefinitions: definition.AttributeDefinitions,
        GlobalSecondaryIndexUpdates: [{ Create: index }],
      }),
    );
  }
  await waitForActiveIndexes(dynamo, definition.TableName ?? '');
  return migrateApiCallKeys(DynamoDBDocumentClient.from(dynamo), definition.TableName ?? '');
};

/**
 * Waits (up to a minute) until every index of the table is ACTIVE: DynamoDB Local fails writes
 * (InternalFailure) to a table whose new index is still being built.
 */
const waitForActiveIndexes = async (dynamo: DynamoDBClient, tableName: string): Promise<void> => {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const { Table } = await dynamo.send(new DescribeTableCommand({ TableName: tableName }));
    const building = (Table?.GlobalSecondaryIndexes ?? []).some((index) => index.IndexStatus !== 'ACTIVE');
    if (!building || Date.now() > deadline) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
};
