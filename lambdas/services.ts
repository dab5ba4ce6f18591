import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDynamoDbDocumentClient } from './adapters/aws-clients.js';
import { DynamoDbCounterStore } from './adapters/dynamodb-counter-store.js';
import { DynamoDbEventStore } from './adapters/dynamodb-event-store.js';
import { DynamoDbExportJobStore } from './adapters/dynamodb-export-job-store.js';
import { DynamoDbExportPlanStore } from './adapters/dynamodb-export-plan-store.js';
import { DynamoDbIdempotencyStore } from './adapters/dynamodb-idempotency-store.js';
import { DynamoDbKoreAppStore } from './adapters/dynamodb-kore-app-store.js';
import { DynamoDbPurgeJobStore } from './adapters/dynamodb-purge-job-store.js';
import { DynamoDbTenantStore } from './adapters/dynamodb-tenant-store.js';
import { DynamoDbTokenStore } from './adapters/dynamodb-token-store.js';
import { loadConfig, type ServiceConfig } from './config.js';
import type { TokenStore } from './ports/control-store.js';
import type { CounterStore } from './ports/counter-store.js';
import type { EventStore } from './ports/event-store.js';
import type { ExportJobStore, ExportPlanStore } from './ports/export-store.js';
import type { IdempotencyStore } from './ports/idempotency-store.js';
import type { KoreAppStore } from './ports/kore-app-store.js';
import type { PurgeJobStore } from './ports/purge-job-store.js';
import type { TenantStore } from './ports/tenant-store.js';
import { Authenticator } from './use-cases/authenticate.js';

/**
 * The composition root is split by AWS client, because each Lambda bundle holds every client its
 * handler imports (esbuild cannot drop a client that a shared root constructs):
 *
 * - this module: the DynamoDB stores every handler uses (authentication and self-audit included),
 *   and getters for the stores of one feature each (purge jobs, export jobs, idempotency keys);
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
}

/** The stores only some features use, each built by its getter below on first use. */
export interface FeatureStores {
  readonly tenants: TenantStore;
  readonly purges: PurgeJobStore;
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
  };
};

const tablesOf = ({ config }: Pick<Services, 'config'>) => ({
  eventsTable: config.EVENTS_TABLE,
  controlTable: config.CONTROL_TABLE,
});

let tenants: TenantStore | undefined;
let purges: PurgeJobStore | undefined;
let exportJobs: ExportJobStore | undefined;
let exportPlans: ExportPlanStore | undefined;
let idempotency: IdempotencyStore | undefined;

/** The container's tenant settings (retention and archiving: purges and the token tools). */
export const getTenantStore = (services: Pick<Services, 'doc' | 'config'>): TenantStore => {
  const { config } = services;
  tenants ??= new DynamoDbTenantStore(services.doc, {
    ...tablesOf(services),
    defaults: { retentionDays: config.DEFAULT_RETENTION_DAYS, archive: config.ARCHIVE_ENABLED },
  });
  return tenants;
};

/** The container's purge job store (purge endpoints, worker and scheduler). */
export const getPurgeStore = (services: Pick<Services, 'doc' | 'config'>): PurgeJobStore => {
  purges ??= new DynamoDbPurgeJobStore(services.doc, { controlTable: services.config.CONTROL_TABLE });
  return purges;
};

/** The container's export job store (download endpoints and the export worker). */
export const getExportJobStore = (services: Pick<Services, 'doc' | 'config'>): ExportJobStore => {
  exportJobs ??= new DynamoDbExportJobStore(services.doc, tablesOf(services));
  return exportJobs;
};

/** The container's store of parallel export plans and chunk records (the export job's steps only). */
export const getExportPlanStore = (services: Pick<Services, 'doc' | 'config'>): ExportPlanStore => {
  exportPlans ??= new DynamoDbExportPlanStore(services.doc, tablesOf(services));
  return exportPlans;
};

/** The container's Idempotency-Key store (HTTP ingest). */
export const getIdempotencyStore = (services: Pick<Services, 'doc' | 'config'>): IdempotencyStore => {
  idempotency ??= new DynamoDbIdempotencyStore(services.doc, { controlTable: services.config.CONTROL_TABLE });
  return idempotency;
};

/** Every feature store, for tools and tests that reach into all of them. */
export const featureStores = (services: Pick<Services, 'doc' | 'config'>): FeatureStores => ({
  tenants: getTenantStore(services),
  purges: getPurgeStore(services),
  exportJobs: getExportJobStore(services),
  idempotency: getIdempotencyStore(services),
});

let services: Services | undefined;

/** The container's DynamoDB services, built on first use from `process.env`. */
export const getServices = async (): Promise<Services> => {
  services ??= buildServices(loadConfig(process.env));
  return services;
};
