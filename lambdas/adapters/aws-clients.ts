import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** Where the AWS clients point: real AWS (no endpoints) or the local emulators. */
export interface AwsClientSettings {
  readonly region: string;
  readonly dynamoDbEndpoint?: string;
  /**
   * With `dynamoDbEndpoint`: which DynamoDB Local database to use. DynamoDB Local keeps one per
   * access key id unless started with -sharedDb (`npm start` shares one; the tests give each
   * service its own). Default `local`.
   */
  readonly dynamoDbDatabase?: string;
  readonly s3Endpoint?: string;
}

// Emulator credentials (DynamoDB Local accepts any, and names its database after the access key id;
// s3rver wants its own); real AWS uses the default chain.
/** The credentials that select DynamoDB Local's database `database` (default `local`). */
export const dynamoDbLocalCredentials = (database = 'local') => ({
  accessKeyId: database,
  secretAccessKey: 'local',
});
const s3rverCredentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/** A DynamoDB document client (create once per container and reuse). */
export const createDynamoDbDocumentClient = (settings: AwsClientSettings): DynamoDBDocumentClient => {
  const client = new DynamoDBClient({
    region: settings.region,
    maxAttempts: 6,
    ...(settings.dynamoDbEndpoint
      ? {
          endpoint: settings.dynamoDbEndpoint,
          credentials: dynamoDbLocalCredentials(settings.dynamoDbDatabase),
        }
      : {}),
  });
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true },
  });
};

/** An S3 client (create once per container and reuse). */
export const createS3Client = (settings: AwsClientSettings): S3Client =>
  new S3Client({
    region: settings.region,
    ...(settings.s3Endpoint
      ? {
          endpoint: settings.s3Endpoint,
          credentials: s3rverCredentials,
          forcePathStyle: true,
          // s3rver does not implement the flexible checksums; without these multipart uploads hang.
          requestChecksumCalculation: 'WHEN_REQUIRED',
          responseChecksumValidation: 'WHEN_REQUIRED',
        }
      : {}),
  });
