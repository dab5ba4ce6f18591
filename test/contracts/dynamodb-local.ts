import { randomBytes } from 'node:crypto';
import { CreateTableCommand, DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDynamoDbDocumentClient } from '../../lambdas/adapters/aws-clients.js';
import { controlTableDefinition, eventsTableDefinition } from '../../lambdas/adapters/table-definitions.js';

/** An events and a control table of their own on the DynamoDB Local the jest global setup started. */
export interface LocalTables {
  readonly doc: DynamoDBDocumentClient;
  readonly eventsTable: string;
  readonly controlTable: string;
  /** The events table's stream, which the rollup counters are derived from. */
  readonly eventsStreamArn: string;
  /** Deletes the tables and closes the client. */
  dispose(): Promise<void>;
}

export const createLocalTables = async (): Promise<LocalTables> => {
  const endpoint = process.env.TEST_DYNAMODB_ENDPOINT;
  if (!endpoint) throw new Error('DynamoDB Local is not running (jest globalSetup)');
  const doc = createDynamoDbDocumentClient({ region: 'us-east-1', dynamoDbEndpoint: endpoint });
  const suffix = randomBytes(4).toString('hex');
  const eventsTable = `contract-events-${suffix}`;
  const controlTable = `contract-control-${suffix}`;
  const created = await doc.send(new CreateTableCommand(eventsTableDefinition(eventsTable)));
  await doc.send(new CreateTableCommand(controlTableDefinition(controlTable)));
  const eventsStreamArn = created.TableDescription?.LatestStreamArn;
  if (!eventsStreamArn) throw new Error(`the events table ${eventsTable} has no stream`);
  return {
    doc,
    eventsTable,
    controlTable,
    eventsStreamArn,
    dispose: async () => {
      for (const table of [eventsTable, controlTable])
        await doc.send(new DeleteTableCommand({ TableName: table }));
      doc.destroy();
    },
  };
};

/** A tenant name no other test uses, so the tests of one suite share tables without meeting. */
export const freshTenant = (): string => `t-${randomBytes(6).toString('hex')}`;
