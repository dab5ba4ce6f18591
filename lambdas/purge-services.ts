import { getArchiveStore } from './object-services.js';
import { getIdempotencyStore, getPurgeStore, getTenantStore, type Services } from './services.js';
import { type PurgeDependencies, purgeDependencies } from './use-cases/purge-entries.js';

/**
 * What purging needs, from the container's services (see `services.ts`): the purge API, its
 * worker and the retention scheduler share it.
 */
export const purgeDependenciesOf = (services: Services): PurgeDependencies =>
  purgeDependencies(
    {
      ...services,
      purges: getPurgeStore(services),
      tenants: getTenantStore(services),
      idempotency: getIdempotencyStore(services),
    },
    getArchiveStore(services.config),
  );
