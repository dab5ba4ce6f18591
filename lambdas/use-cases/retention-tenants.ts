import { UNAUTHENTICATED_TENANT } from '../domain/tokens.js';
import type { TenantSettings, TenantStore } from '../ports/tenant-store.js';

/**
 * The tenants retention runs over: every registered tenant, and the reserved `#unauthenticated`
 * partition that records calls without a usable credential. Nobody can register that one or
 * change its settings through the API, so its retention comes from the deployment
 * (`UNAUTHENTICATED_RETENTION_DAYS`) and it is never archived: anyone on the internet can write
 * to it, so nothing of it may be kept for ever.
 *
 * @example
 * const tenants = retentionTenants(getTenantStore(services), config.UNAUTHENTICATED_RETENTION_DAYS);
 * for (const tenant of await tenants.list()) await applyRetention({ ...deps, tenants }, tenant, deadline);
 */
export const retentionTenants = (store: TenantStore, unauthenticatedRetentionDays: number): TenantStore => {
  const unauthenticated: TenantSettings = { retentionDays: unauthenticatedRetentionDays, archive: false };
  return {
    register: (tenant, now) => store.register(tenant, now),
    update: (tenant, settings, now) => store.update(tenant, settings, now),
    settings: async (tenant) =>
      tenant === UNAUTHENTICATED_TENANT ? unauthenticated : store.settings(tenant),
    list: async () => [
      ...(await store.list()).filter((tenant) => tenant !== UNAUTHENTICATED_TENANT),
      UNAUTHENTICATED_TENANT,
    ],
  };
};
