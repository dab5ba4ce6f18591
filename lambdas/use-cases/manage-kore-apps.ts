import { BadRequestError, ConflictError } from '../domain/errors.js';
import { generateKoreApp, isKoreAppId, isKoreSecret } from '../domain/kore-apps.js';
import type { Scope } from '../domain/scopes.js';
import { isValidTenant } from '../domain/tokens.js';
import type { KoreAppRecord, KoreAppStore } from '../ports/kore-app-store.js';
import type { TenantStore } from '../ports/tenant-store.js';
import { registerTenant } from './register-tenant.js';

/**
 * Registers a kore app for `tenant`: a new app id and client secret (shown once by the CLI).
 * `preset` lets an operator choose both (the local demo app); they must be well formed. The
 * tenant is registered first (`registerTenant`), so retention knows every tenant an app can read.
 */
export const registerKoreApp = async (
  apps: KoreAppStore,
  request: {
    tenant: string;
    scopes: readonly Scope[];
    name?: string;
    preset?: { appId: string; clientSecret: string };
    now?: number;
  },
  tenants: TenantStore,
): Promise<KoreAppRecord> => {
  if (!isValidTenant(request.tenant)) {
    throw new BadRequestError('tenant must be 3-64 letters, digits, ".", "_" or "-"', { field: 'tenant' });
  }
  if (request.preset && !isKoreAppId(request.preset.appId)) {
    throw new BadRequestError('an app id must be "cs-" and 8-64 letters, digits or "-"', { field: 'appId' });
  }
  if (request.preset && !isKoreSecret(request.preset.clientSecret)) {
    throw new BadRequestError('a client secret must be 32-128 URL-safe or base64 characters', {
      field: 'clientSecret',
    });
  }
  const { appId, clientSecret } = request.preset ?? generateKoreApp();
  const app: KoreAppRecord = {
    appId,
    tenant: request.tenant,
    name: request.name ?? 'kore app',
    clientSecret,
    scopes: request.scopes,
    createdAt: request.now ?? Date.now(),
  };
  await registerTenant(tenants, app.tenant, app.createdAt);
  await apps.putApp(app);
  return app;
};

/**
 * Ensures the app with this id and secret exists for `tenant` (idempotent: the local stack calls
 * it on every start with the same DEMO_KORE_APP_ID and DEMO_KORE_SECRET).
 */
export const ensureKoreApp = async (
  apps: KoreAppStore,
  request: { tenant: string; scopes: readonly Scope[]; name: string; appId: string; clientSecret: string },
  tenants: TenantStore,
): Promise<KoreAppRecord> => {
  const existing = await apps.findApp(request.appId);
  if (existing) {
    if (existing.tenant !== request.tenant)
      throw new ConflictError('This kore app already belongs to another tenant');
    if (existing.clientSecret === request.clientSecret) {
      await registerTenant(tenants, existing.tenant, existing.createdAt);
      return existing;
    }
    // The operator changed the demo secret: replace the app so the new secret works.
    await apps.revokeApp(existing.tenant, existing.appId);
  }
  return registerKoreApp(
    apps,
    {
      tenant: request.tenant,
      scopes: request.scopes,
      name: request.name,
      preset: { appId: request.appId, clientSecret: request.clientSecret },
    },
    tenants,
  );
};
