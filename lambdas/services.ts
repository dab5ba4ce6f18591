import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDynamoDbDocumentClient } from './adapters/aws-clients.js';
import { DynamoDbCounterStore } from './adapters/dynamodb-counter-store.js';
import { DynamoDbEventStore } from './adapters/dynamodb-event-store.js';
import { DynamoDbExportJobStore } from './adapters/dynamodb-export-job-store.js';
import { DynamoDbIdempotencyStore } from './adapters/dynamodb-idempotency-store.js';
import { DynamoDbKoreAppStore } from './adapters/dynamodb-kore-app-store.js';
import { DynamoDbPurgeStore } from './adapters/dynamodb-purge-store.js';
import { DynamoDbTenantStore } from './adapters/dynamodb-tenant-store.js';
import { DynamoDbTokenStore } from './adapters/dynamodb-token-store.js';
import { loadConfig, type ServiceConfig } from './config.js';
import type { TokenStore } from './ports/control-store.js';
import type { CounterStore } from './ports/counter-store.js';
import type { EventStore } from './ports/event-store.js';
import type { ExportJobStore } from './ports/export-store.js';
import type { IdempotencyStore } from './ports/idempotency-store.js';
import type { KoreAppStore } from './ports/kore-app-store.js';
import type { PurgeStore } from './ports/purge-store.js';
import type { TenantStore } from './ports/tenant-store.js';
import { Authenticator } from './use-cases/authenticate.js';

/**
 * The composition root is split by AWS client, because each Lambda bundle holds every client its
 * handler imports (esbuild cannot drop a client that a shared root constructs):
 *
 * - this module: the DynamoDB stores every handler uses (authentication and self-audit included);
 * - `object-services.ts`: the S3 stores (archives, exports, parked large responses);
 * - `job-services.ts`: the launcher of background workers;
 * - `cursor-key.ts`: the cursor-signing key (Secrets Manager in AWS).
 *
 * A handler imports only the modules it needs; each builds its part once per container.
 */
export interface Services {
  readonly config: ServiceConfig;
  readonly doc: DynamoDBDocumentClient;
  readonly events: EventStore;
  readonly counters: CounterStore;
  readonly tokens: TokenStore;
  readonly koreApps: KoreAppStore;
  readonly authenticator: Authenticator;
  readonly clock: () => number;
  readonly purges: PurgeStore;
  readonly tenants: TenantStore;
  readonly exportJobs: ExportJobStore;
  readonly idempotency: IdempotencyStore;
}

/** Builds the DynamoDB services for `config`. */
export const buildServices = (config: ServiceConfig): Services => {
  const doc = createDynamoDbDocumentClient({
    region: config.AWS_REGION,
    ...(config.DYNAMODB_ENDPOINT ? { dynamoDbEndpoint: config.DYNAMODB_ENDPOINT } : {}),
  });
  const tables = { eventsTable: config.EVENTS_TABLE, controlTable: config.CONTROL_TABLE };
  const tokens = new DynamoDbTokenStore(doc, tables);
  const koreApps = new DynamoDbKoreAppStore(doc, tables);
  return {
    config,
    doc,
    events: new DynamoDbEventStore(doc, tables),
    counters: new DynamoDbCounterStore(doc, tables),
    tokens,
    koreApps,
    authenticator: new Authenticator(tokens, { cacheSeconds: config.AUTH_CACHE_SECONDS, koreApps }),
    clock: Date.now,
    purges: new DynamoDbPurgeStore(doc, tables),
    tenants: new DynamoDbTenantStore(doc, {
      ...tables,
      defaults: { retentionDays: config.DEFAULT_RETENTION_DAYS, archive: config.ARCHIVE_ENABLED },
    }),
    exportJobs: new DynamoDbExportJobStore(doc, tables),
    idempotency: new DynamoDbIdempotencyStore(doc, { controlTable: config.CONTROL_TABLE }),
  };
};

let services: Services | undefined;

/** The container's DynamoDB services, built on first use from `process.env`. */
export const getServices = async (): Promise<Services> => {
  services ??= buildServices(loadConfig(process.env));
  return services;
};
