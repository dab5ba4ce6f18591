import { getArchiveStore } from './object-services.js';
import type { ArchiveStore } from './ports/archive-store.js';
import { getPurgeStore, getTenantStore, type Services } from './services.js';
import { type PurgeDependencies, purgeDependencies } from './use-cases/purge-entries.js';

/**
 * What purging needs, from the container's services (see `services.ts`): the purge API, its
 * worker and the retention scheduler share it. The deployment's settings are read here, never by
 * the use case.
 */
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
      clock: services.clock,
    },
    {
      partEntries: services.config.PURGE_PART_ENTRIES,
      leaseSeconds: services.config.PURGE_LEASE_SECONDS,
    },
  );
