// Plain JS: Jest loads global setup outside its module system, so TypeScript is loaded via tsx.
import { tsImport } from 'tsx/esm/api';

/**
 * Starts DynamoDB Local and s3rver once for the whole run; test files create their own uniquely
 * named tables and buckets on them (see local-service.ts).
 */
export default async function globalSetup() {
  const { startEmulators } = await tsImport('../../local/emulators.ts', import.meta.url);
  const emulators = await startEmulators({
    scratchDir: `.local/test-s3-${process.pid}`,
    // Each test service gets a database of its own (local-service.ts).
    databasePerAccessKey: true,
  });
  process.env.TEST_DYNAMODB_ENDPOINT = emulators.dynamoDbEndpoint;
  process.env.TEST_S3_ENDPOINT = emulators.s3Endpoint;
  globalThis.__emulators__ = emulators;
}
