import { DynamoDbEntryDeletion } from './adapters/dynamodb-entry-deletion.js';
import { getArchiveStore } from './object-services.js';
import type { ArchiveStore } from './ports/archive-store.js';
import type { EntryDeletion } from './ports/entry-deletion.js';
import { getIdempotencyStore, getPurgeStore, getTenantStore, type Services } from './services.js';
import { type PurgeDependencies, purgeDependencies } from './use-cases/purge-entries.js';

/**
 * What purging needs, from the container's services (see `services.ts`): the purge API, its
 * worker and the retention scheduler share it. The deployment's settings are read here, never by
 * the use case.
 */
let deletion: EntryDeletion | undefined;

/** The container's deleting side of the event store (purge functions only). */
const getEntryDeletion = (services: Services): EntryDeletion => {
  deletion ??= new DynamoDbEntryDeletion(services.doc, {
    eventsTable: services.config.EVENTS_TABLE,
    controlTable: services.config.CONTROL_TABLE,
  });
  return deletion;
};

export const purgeDependenciesOf = (
  services: Services,
  archives: ArchiveStore | undefined = getArchiveStore(services.config),
): PurgeDependencies =>
  purgeDependencies(
    {
      purges: getPurgeStore(services),
      archives,
      tenants: getTenantStore(services),
      events: services.events,
      idempotency: getIdempotencyStore(services),
      deletion: getEntryDeletion(services),
      clock: services.clock,
    },
    {
      partEntries: services.config.PURGE_PART_ENTRIES,
      leaseSeconds: services.config.PURGE_LEASE_SECONDS,
    },
  );
