import { LambdaClient } from '@aws-sdk/client-lambda';
import type { S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDynamoDbDocumentClient, createS3Client } from './adapters/aws-clients.js';
import { DynamoDbCounterStore } from './adapters/dynamodb-counter-store.js';
import { DynamoDbEventStore } from './adapters/dynamodb-event-store.js';
import { DynamoDbExportJobStore } from './adapters/dynamodb-export-job-store.js';
import { DynamoDbIdempotencyStore } from './adapters/dynamodb-idempotency-store.js';
import { DynamoDbKoreAppStore } from './adapters/dynamodb-kore-app-store.js';
import { DynamoDbPurgeStore } from './adapters/dynamodb-purge-store.js';
import { DynamoDbTenantStore } from './adapters/dynamodb-tenant-store.js';
import { DynamoDbTokenStore } from './adapters/dynamodb-token-store.js';
import { InProcessJobLauncher } from './adapters/in-process-job-launcher.js';
import { LambdaJobLauncher } from './adapters/lambda-job-launcher.js';
import { S3ArchiveStore } from './adapters/s3-archive-store.js';
import { S3ExportStore } from './adapters/s3-export-store.js';
import { S3LargeResponseStore } from './adapters/s3-response-store.js';
import { loadConfig, type ServiceConfig } from './config.js';
import type { ArchiveStore } from './ports/archive-store.js';
import type { TokenStore } from './ports/control-store.js';
import type { CounterStore } from './ports/counter-store.js';
import type { EventStore } from './ports/event-store.js';
import type { ExportJobStore, ExportObjectStore } from './ports/export-store.js';
import type { IdempotencyStore } from './ports/idempotency-store.js';
import type { JobLauncher } from './ports/job-launcher.js';
import type { KoreAppStore } from './ports/kore-app-store.js';
import type { PurgeStore } from './ports/purge-store.js';
import type { LargeResponseStore } from './ports/response-store.js';
import type { TenantStore } from './ports/tenant-store.js';
import { Authenticator } from './use-cases/authenticate.js';

/** Everything handlers need, built once per container from the configuration. */
export interface Services {
  readonly config: ServiceConfig;
  readonly doc: DynamoDBDocumentClient;
  readonly events: EventStore;
  readonly counters: CounterStore;
  readonly tokens: TokenStore;
  readonly koreApps: KoreAppStore;
  readonly authenticator: Authenticator;
  readonly cursorKey: Uint8Array;
  readonly clock: () => number;
  readonly jobs: JobLauncher;
  /** Parks oversized api-key pages in the exports bucket (303 with `allowRedirect=true`). */
  readonly largeResponses: LargeResponseStore;
  readonly purges: PurgeStore;
  readonly tenants: TenantStore;
  /** Absent when ARCHIVE_BUCKET is not configured. */
  readonly archives: ArchiveStore | undefined;
  readonly s3: S3Client;
  /** Export zips; undefined when no EXPORTS_BUCKET is configured. */
  readonly exportObjects: ExportObjectStore | undefined;
  readonly exportJobs: ExportJobStore;
  readonly idempotency: IdempotencyStore;
}

const readCursorKey = async (config: ServiceConfig): Promise<Uint8Array> => {
  let encoded = config.CURSOR_KEY;
  if (!encoded && config.CURSOR_KEY_SECRET_ARN) {
    const client = new SecretsManagerClient({ region: config.AWS_REGION });
    const secret = await client.send(new GetSecretValueCommand({ SecretId: config.CURSOR_KEY_SECRET_ARN }));
    encoded = secret.SecretString;
  }
  const key = Buffer.from(encoded ?? '', 'base64');
  if (key.length < 32) throw new Error('The cursor-signing key must be at least 32 bytes (base64)');
  return key;
};

/** Builds the services for `config`. */
export const buildServices = async (config: ServiceConfig): Promise<Services> => {
  const doc = createDynamoDbDocumentClient({
    region: config.AWS_REGION,
    ...(config.DYNAMODB_ENDPOINT ? { dynamoDbEndpoint: config.DYNAMODB_ENDPOINT } : {}),
  });
  const tables = { eventsTable: config.EVENTS_TABLE, controlTable: config.CONTROL_TABLE };
  const tokens = new DynamoDbTokenStore(doc, tables);
  const koreApps = new DynamoDbKoreAppStore(doc, tables);
  const s3 = createS3Client({
    region: config.AWS_REGION,
    ...(config.S3_ENDPOINT ? { s3Endpoint: config.S3_ENDPOINT } : {}),
  });
  return {
    config,
    doc,
    events: new DynamoDbEventStore(doc, tables),
    counters: new DynamoDbCounterStore(doc, tables),
    tokens,
    koreApps,
    authenticator: new Authenticator(tokens, { cacheSeconds: config.AUTH_CACHE_SECONDS, koreApps }),
    cursorKey: await readCursorKey(config),
    clock: Date.now,
    jobs:
      config.JOB_LAUNCHER === 'in-process'
        ? new InProcessJobLauncher({ budgetMs: config.LOCAL_WORKER_BUDGET_MS })
        : new LambdaJobLauncher(new LambdaClient({ region: config.AWS_REGION }), {
            purge: config.PURGE_WORKER_FUNCTION,
            export: config.EXPORT_WORKER_FUNCTION,
          }),
    largeResponses: new S3LargeResponseStore(s3, { bucket: config.EXPORTS_BUCKET }),
    purges: new DynamoDbPurgeStore(doc, tables),
    tenants: new DynamoDbTenantStore(doc, {
      ...tables,
      defaults: { retentionDays: config.DEFAULT_RETENTION_DAYS, archive: config.ARCHIVE_ENABLED },
    }),
    archives: config.ARCHIVE_BUCKET ? new S3ArchiveStore(s3, { bucket: config.ARCHIVE_BUCKET }) : undefined,
    s3,
    exportObjects: config.EXPORTS_BUCKET
      ? new S3ExportStore(s3, { bucket: config.EXPORTS_BUCKET, partSize: config.DOWNLOAD_PART_SIZE_BYTES })
      : undefined,
    exportJobs: new DynamoDbExportJobStore(doc, tables),
    idempotency: new DynamoDbIdempotencyStore(doc, { controlTable: config.CONTROL_TABLE }),
  };
};

let services: Promise<Services> | undefined;

/** The container's services, built on first use from `process.env`. */
export const getServices = (): Promise<Services> => {
  services ??= buildServices(loadConfig(process.env)).catch((error: unknown) => {
    services = undefined;
    throw error;
  });
  return services;
};
