import type { EventStore } from '../ports/event-store.js';
import type { IdempotencyStore } from '../ports/idempotency-store.js';
import type { TenantStore } from '../ports/tenant-store.js';
import type { ServiceConfig } from './config.js';
import { coreServices, idempotencyStore, tenantStore } from './dynamodb.js';
import { perConfig } from './memo.js';

/** The ingest queue's consumer: the event store, and the tenant registry new tenants go into. */
export interface IngestQueueDependencies {
  readonly events: EventStore;
  /** Where each EventBridge event's write is claimed, so a redelivered message is stored once. */
  readonly idempotency: IdempotencyStore;
  readonly tenants: TenantStore;
  readonly clock: () => number;
  /** Names the registry, so a tenant registered in one is not taken as registered in another. */
  readonly registry: string;
}
export const ingestQueueDependencies = /* @__PURE__ */ perConfig(
  (config: ServiceConfig): IngestQueueDependencies => {
    const { events, clock } = coreServices(config);
    return {
      events,
      idempotency: idempotencyStore(config),
      tenants: tenantStore(config),
      clock,
      registry: config.CONTROL_TABLE,
    };
  },
);
