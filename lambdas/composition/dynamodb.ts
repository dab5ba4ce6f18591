import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDynamoDbDocumentClient } from '../adapters/aws-clients.js';
import { DynamoDbCounterStore } from '../adapters/dynamodb-counter-store.js';
import { DynamoDbEntryDeletion } from '../adapters/dynamodb-entry-deletion.js';
import { DynamoDbEventStore } from '../adapters/dynamodb-event-store.js';
import { DynamoDbExportJobStore } from '../adapters/dynamodb-export-job-store.js';
import { DynamoDbExportPlanStore } from '../adapters/dynamodb-export-plan-store.js';
import { DynamoDbIdempotencyStore } from '../adapters/dynamodb-idempotency-store.js';
import { DynamoDbKoreAppStore } from '../adapters/dynamodb-kore-app-store.js';
import { DynamoDbPurgeJobStore } from '../adapters/dynamodb-purge-job-store.js';
import { DynamoDbShardPlanStore } from '../adapters/dynamodb-shard-plans.js';
import { DynamoDbTenantStore } from '../adapters/dynamodb-tenant-store.js';
import { DynamoDbTokenLookup, DynamoDbTokenStore } from '../adapters/dynamodb-token-store.js';
import type { TokenLookup, TokenStore } from '../ports/control-store.js';
import type { CounterStore } from '../ports/counter-store.js';
import type { EntryDeletion } from '../ports/entry-deletion.js';
import type { EventStore } from '../ports/event-store.js';
import type { ExportJobStore, ExportPlanStore } from '../ports/export-store.js';
import type { IdempotencyStore } from '../ports/idempotency-store.js';
import type { KoreAppStore } from '../ports/kore-app-store.js';
import type { PurgeJobStore } from '../ports/purge-job-store.js';
import type { ShardPlanStore } from '../ports/shard-plans.js';
import type { TenantStore } from '../ports/tenant-store.js';
import type { ServiceConfig } from './config.js';
import { perConfig } from './memo.js';

/**
 * The DynamoDB side of the composition root: the event store most handlers use, and one builder
 * per store that only some features use. Each builder is memoised per configuration and is its
 * own export, so a bundle holds only the adapters its handler's dependencies name.
 */
export interface Services {
  readonly config: ServiceConfig;
  readonly doc: DynamoDBDocumentClient;
  readonly events: EventStore;
  /** Hot tenants' write-shard plans, read by the stores (lambdas/domain/hot-shards.ts). */
  readonly shardPlans: ShardPlanStore;
  readonly clock: () => number;
}

/** The stores only some features use. */
export interface FeatureStores {
  readonly counters: CounterStore;
  readonly tokens: TokenStore;
  readonly koreApps: KoreAppStore;
  readonly tenants: TenantStore;
  readonly purges: PurgeJobStore;
  readonly exportJobs: ExportJobStore;
  readonly idempotency: IdempotencyStore;
}

const tablesOf = (config: ServiceConfig) => ({
  eventsTable: config.EVENTS_TABLE,
  controlTable: config.CONTROL_TABLE,
});

/** The DynamoDB services for `config`: one document client and the stores on it. */
export const coreServices = /* @__PURE__ */ perConfig((config): Services => {
  const doc = createDynamoDbDocumentClient({
    region: config.AWS_REGION,
    ...(config.DYNAMODB_ENDPOINT ? { dynamoDbEndpoint: config.DYNAMODB_ENDPOINT } : {}),
    ...(config.DYNAMODB_LOCAL_DATABASE ? { dynamoDbDatabase: config.DYNAMODB_LOCAL_DATABASE } : {}),
  });
  const tables = tablesOf(config);
  const shardPlans = new DynamoDbShardPlanStore(doc, {
    controlTable: config.CONTROL_TABLE,
    forced: config.HOT_TENANT_SHARDS,
  });
  return {
    config,
    doc,
    events: new DynamoDbEventStore(doc, { ...tables, shardPlans }),
    shardPlans,
    clock: Date.now,
  };
});

/**
 * The rollup counters' read side (totals, deep pages and exports' sizes; the purge decrements them
 * through its own deletion store).
 */
export const counterStore = /* @__PURE__ */ perConfig(
  (config): CounterStore =>
    new DynamoDbCounterStore(coreServices(config).doc, {
      ...tablesOf(config),
      shardPlans: coreServices(config).shardPlans,
    }),
);

/** API tokens (the token tools; requests only look tokens up, through {@link tokenLookup}). */
export const tokenStore = /* @__PURE__ */ perConfig(
  (config): TokenStore => new DynamoDbTokenStore(coreServices(config).doc, tablesOf(config)),
);

/** The lookup of API tokens by hash (the authenticators of HTTP functions and the authorizer). */
export const tokenLookup = /* @__PURE__ */ perConfig(
  (config): TokenLookup => new DynamoDbTokenLookup(coreServices(config).doc, tablesOf(config)),
);

/** Registered kore apps (the kore JWT verifier and the kore-app tools). */
export const koreAppStore = /* @__PURE__ */ perConfig(
  (config): KoreAppStore => new DynamoDbKoreAppStore(coreServices(config).doc, tablesOf(config)),
);

/** Tenant settings (retention and archiving: purges and the token tools). */
export const tenantStore = /* @__PURE__ */ perConfig(
  (config): TenantStore =>
    new DynamoDbTenantStore(coreServices(config).doc, {
      ...tablesOf(config),
      defaults: { retentionDays: config.DEFAULT_RETENTION_DAYS, archive: config.ARCHIVE_ENABLED },
    }),
);

/** Purge jobs (purge endpoints, worker and scheduler). */
export const purgeStore = /* @__PURE__ */ perConfig(
  (config): PurgeJobStore => new DynamoDbPurgeJobStore(coreServices(config).doc, tablesOf(config)),
);

/** The deleting side of the event store (purge functions only). */
export const entryDeletion = /* @__PURE__ */ perConfig(
  (config): EntryDeletion =>
    new DynamoDbEntryDeletion(coreServices(config).doc, {
      ...tablesOf(config),
      shardPlans: coreServices(config).shardPlans,
    }),
);

/** Export jobs (download endpoints and the export worker). */
export const exportJobStore = /* @__PURE__ */ perConfig(
  (config): ExportJobStore => new DynamoDbExportJobStore(coreServices(config).doc, tablesOf(config)),
);

/** Parallel export plans and chunk records (the export job's steps only). */
export const exportPlanStore = /* @__PURE__ */ perConfig(
  (config): ExportPlanStore => new DynamoDbExportPlanStore(coreServices(config).doc, tablesOf(config)),
);

/** Idempotency-Key records (HTTP ingest). */
export const idempotencyStore = /* @__PURE__ */ perConfig(
  (config): IdempotencyStore =>
    new DynamoDbIdempotencyStore(coreServices(config).doc, { controlTable: config.CONTROL_TABLE }),
);

/** Every feature store of `config`, for tools and tests that reach into all of them. */
export const featureStores = (config: ServiceConfig): FeatureStores => ({
  counters: counterStore(config),
  tokens: tokenStore(config),
  koreApps: koreAppStore(config),
  tenants: tenantStore(config),
  purges: purgeStore(config),
  exportJobs: exportJobStore(config),
  idempotency: idempotencyStore(config),
});
