import { BadRequestError } from '../domain/errors.js';
import { isValidTenant } from '../domain/tokens.js';
import type { TenantStore } from '../ports/tenant-store.js';

/**
 * Registers a tenant in the tenant registry (idempotent; keeps its settings). This is the one place
 * every way a tenant comes to exist goes through: a token issued (`npm run tokens -- create`, the
 * first token of a deployment, the local demo token), a kore app registered, a seed run, events
 * arriving over EventBridge. The retention scheduler purges exactly the registered tenants, so a
 * tenant that skipped this would keep its entries forever.
 */
export const registerTenant = async (tenants: TenantStore, tenant: string, now: number): Promise<void> => {
  if (!isValidTenant(tenant)) {
    throw new BadRequestError('tenant must be 3-64 letters, digits, ".", "_" or "-"', { field: 'tenant' });
  }
  await tenants.register(tenant, now);
};
