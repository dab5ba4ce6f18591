import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll } from '@jest/globals';
import { createS3Client } from '../../lambdas/adapters/aws-clients.js';
import { DynamoDbCounterStore } from '../../lambdas/adapters/dynamodb-counter-store.js';
import {
  DynamoDbCounterStep,
  DynamoDbDerivationJournal,
} from '../../lambdas/adapters/dynamodb-derivation.js';
import { DynamoDbEventStore } from '../../lambdas/adapters/dynamodb-event-store.js';
import { DynamoDbExportJobStore } from '../../lambdas/adapters/dynamodb-export-job-store.js';
import { DynamoDbIdempotencyStore } from '../../lambdas/adapters/dynamodb-idempotency-store.js';
import { DynamoDbKoreAppStore } from '../../lambdas/adapters/dynamodb-kore-app-store.js';
import { DynamoDbTenantStore } from '../../lambdas/adapters/dynamodb-tenant-store.js';
import { DynamoDbTokenStore } from '../../lambdas/adapters/dynamodb-token-store.js';
import { S3ExportStore } from '../../lambdas/adapters/s3-export-store.js';
import { deriveChanges } from '../../lambdas/use-cases/derive-changes.js';
import { type LocalStreamConsumer, startStreamConsumer } from '../../local/stream-consumer.js';
import { inMemoryAuditStore } from '../fakes/in-memory-audit-store.js';
import {
  InMemoryKoreAppStore,
  InMemoryTenantStore,
  InMemoryTokenStore,
} from '../fakes/in-memory-control-stores.js';
import { InMemoryExportJobStore, InMemoryExportObjectStore } from '../fakes/in-memory-export-stores.js';
import { InMemoryIdempotencyStore } from '../fakes/in-memory-idempotency-store.js';
import {
  CONTRACT_TENANT_DEFAULTS,
  describeKoreAppStoreContract,
  describeTenantStoreContract,
  describeTokenStoreContract,
} from './control-stores.contract.js';
import { createLocalTables, type LocalTables } from './dynamodb-local.js';
import { describeEventStoreContract } from './event-store.contract.js';
import { describeExportJobStoreContract } from './export-job-store.contract.js';
import { describeExportObjectStoreContract } from './export-object-store.contract.js';
import { describeIdempotencyStoreContract } from './idempotency-store.contract.js';

/**
 * Each port's contract, run once against the in-memory fake (test/fakes) the use-case specs use
 * and once against its adapter on the emulators (DynamoDB Local; s3rver for the export bucket): a
 * fake that drifts fails here. On DynamoDB the rollup counters are derived from the events table's
 * stream, by the same consumer as the local stack's (the counter step through `deriveChanges`).
 */

let local: LocalTables;
let derivation: LocalStreamConsumer;
let s3: S3Client;
const exportsBucket = `contract-exports-${randomBytes(4).toString('hex')}`;
beforeAll(async () => {
  local = await createLocalTables();
  const deps = {
    journal: new DynamoDbDerivationJournal(local.doc, { controlTable: local.controlTable }),
    steps: [new DynamoDbCounterStep(local.doc, { controlTable: local.controlTable })],
  };
  derivation = startStreamConsumer({
    endpoint: process.env.TEST_DYNAMODB_ENDPOINT as string,
    streamArn: local.eventsStreamArn,
    handle: async (records) => {
      const outcome = await deriveChanges(deps, records);
      return outcome.resumeAt !== undefined ? { resumeAt: outcome.resumeAt } : {};
    },
  });
  s3 = createS3Client({ region: 'us-east-1', s3Endpoint: process.env.TEST_S3_ENDPOINT as string });
  await s3.send(new CreateBucketCommand({ Bucket: exportsBucket }));
});
afterAll(async () => {
  await derivation.stop();
  await local.dispose();
  s3.destroy();
});

/** A clock a test moves by hand, starting at a fixed instant. */
const manualClock = () => {
  let now = Date.UTC(2026, 2, 10, 12);
  return {
    clock: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
};

describeEventStoreContract('in memory', () => ({ ...inMemoryAuditStore(), caughtUp: async () => {} }));
describeEventStoreContract('DynamoDB', () => ({
  events: new DynamoDbEventStore(local.doc, {
    eventsTable: local.eventsTable,
    controlTable: local.controlTable,
  }),
  counters: new DynamoDbCounterStore(local.doc, { controlTable: local.controlTable }),
  caughtUp: () => derivation.settle(),
}));

describeIdempotencyStoreContract('in memory', () => {
  const { clock, advance } = manualClock();
  return { store: new InMemoryIdempotencyStore({ clock }), advance };
});
describeIdempotencyStoreContract('DynamoDB', () => {
  const { clock, advance } = manualClock();
  return {
    store: new DynamoDbIdempotencyStore(local.doc, { controlTable: local.controlTable, clock }),
    advance,
  };
});

describeExportJobStoreContract('in memory', () => new InMemoryExportJobStore());
describeExportJobStoreContract(
  'DynamoDB',
  () => new DynamoDbExportJobStore(local.doc, { controlTable: local.controlTable }),
);

const DEFAULTS = CONTRACT_TENANT_DEFAULTS;
describeTenantStoreContract('in memory', () => new InMemoryTenantStore(DEFAULTS));
describeTenantStoreContract(
  'DynamoDB',
  () => new DynamoDbTenantStore(local.doc, { controlTable: local.controlTable, defaults: DEFAULTS }),
);

describeTokenStoreContract('in memory', () => new InMemoryTokenStore());
describeTokenStoreContract(
  'DynamoDB',
  () => new DynamoDbTokenStore(local.doc, { controlTable: local.controlTable }),
);

describeKoreAppStoreContract('in memory', () => new InMemoryKoreAppStore());
describeKoreAppStoreContract(
  'DynamoDB',
  () => new DynamoDbKoreAppStore(local.doc, { controlTable: local.controlTable }),
);

describeExportObjectStoreContract('in memory', () => new InMemoryExportObjectStore());
describeExportObjectStoreContract(
  'S3',
  () => new S3ExportStore(s3, { bucket: exportsBucket, partSize: 5 * 1024 * 1024 }),
);
