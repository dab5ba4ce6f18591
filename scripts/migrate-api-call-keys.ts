/**
 * `node --import tsx scripts/migrate-api-call-keys.ts` with EVENTS_TABLE (and AWS_REGION,
 * DYNAMODB_ENDPOINT as for the service) set.
 *
 * Once after deploying the version that added the `byApiCall` index: entries written before it
 * that record an API call get their `apiCallKey`, so the api-key dialect lists exactly the API calls (docs/dialects.md). Only index keys change, never a record
 * or its hash; it can be re-run and run while the service serves.
 */
import { createDynamoDbDocumentClient } from '../lambdas/adapters/aws-clients.js';
import { migrateApiCallKeys } from '../lambdas/adapters/dynamodb-api-call-keys.js';

const table = process.env.EVENTS_TABLE;
if (!table) {
  console.error('Set EVENTS_TABLE (and AWS_REGION, DYNAMODB_ENDPOINT as for the service)');
  process.exit(1);
}
const doc = createDynamoDbDocumentClient({
  region: process.env.AWS_REGION ?? 'us-east-1',
  ...(process.env.DYNAMODB_ENDPOINT ? { dynamoDbEndpoint: process.env.DYNAMODB_ENDPOINT } : {}),
  ...(process.env.DYNAMODB_LOCAL_DATABASE ? { dynamoDbDatabase: process.env.DYNAMODB_LOCAL_DATABASE } : {}),
});
const result = await migrateApiCallKeys(doc, table);
console.log(`${table}: ${result.scanned} entries scanned, ${result.indexed} API calls indexed`);
