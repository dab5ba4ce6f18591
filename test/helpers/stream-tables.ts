import { randomBytes } from 'node:crypto';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  createDynamoDbDocumentClient,
  dynamoDbLocalCredentials,
} from '../../lambdas/adapters/aws-clients.js';
import { recordToItem } from '../../lambdas/adapters/dynamodb-records.js';
import { controlTableDefinition, eventsTableDefinition } from '../../lambdas/adapters/table-definitions.js';
import type { AuditRecord } from '../../lambdas/domain/record.js';

/** An events table (with its stream) and a control table of their own, for derivation tests. */
export interface StreamTables {
  readonly events: string;
  readonly control: string;
  readonly streamArn: string;
  readonly doc: DynamoDBDocumentClient;
}

/** Creates uniquely named events and control tables on the global setup's DynamoDB Local. */
export const createStreamTables = async (): Promise<StreamTables> => {
  const endpoint = process.env.TEST_DYNAMODB_ENDPOINT;
  if (!endpoint) throw new Error('The emulators are not running (jest globalSetup)');
  const suffix = randomBytes(4).toString('hex');
  const dynamo = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: dynamoDbLocalCredentials(),
  });
  const created = await dynamo.send(new CreateTableCommand(eventsTableDefinition(`events-${suffix}`)));
  await dynamo.send(new CreateTableCommand(controlTableDefinition(`control-${suffix}`)));
  dynamo.destroy();
  return {
    events: `events-${suffix}`,
    control: `control-${suffix}`,
    streamArn: created.TableDescription?.LatestStreamArn as string,
    doc: createDynamoDbDocumentClient({ region: 'us-east-1', dynamoDbEndpoint: endpoint }),
  };
};

/**
 * Writes sealed records to the events table as plain puts, 25 a BatchWriteItem in order, so the
 * stream holds one insert record each (what the write path leaves for the consumer).
 */
export const writeRecords = async (tables: StreamTables, records: readonly AuditRecord[]): Promise<void> => {
  for (let start = 0; start < records.length; start += 25) {
    await tables.doc.send(
      new BatchWriteCommand({
        RequestItems: {
          [tables.events]: records
            .slice(start, start + 25)
            .map((record) => ({ PutRequest: { Item: recordToItem(record) } })),
        },
      }),
    );
  }
};
