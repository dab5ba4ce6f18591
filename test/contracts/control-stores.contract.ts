import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { ConflictError } from '../../lambdas/domain/errors.js';
import type { TokenRecord, TokenStore } from '../../lambdas/ports/control-store.js';
import type { KoreAppRecord, KoreAppStore } from '../../lambdas/ports/kore-app-store.js';
import type { TenantStore } from '../../lambdas/ports/tenant-store.js';
import { freshTenant } from './dynamodb-local.js';

const NOW = Date.UTC(2026, 2, 10, 12);
/** The deployment defaults a TenantStore under the contract is made with. */
export const CONTRACT_TENANT_DEFAULTS = { retentionDays: 90, archive: false };
const DEFAULTS = CONTRACT_TENANT_DEFAULTS;

/** The behaviour every TenantStore must have (made with `CONTRACT_TENANT_DEFAULTS`). */
export const describeTenantStoreContract = (name: string, make: () => TenantStore): void => {
  describe(`TenantStore contract: ${name}`, () => {
    it('reads the deployment defaults for a tenant never changed, registered or not', async () => {
      // Prepare
      const tenants = make();
      const registered = freshTenant();
      await tenants.register(registered, NOW);

      // Act + Assess
      expect(await tenants.settings(registered)).toEqual(DEFAULTS);
      expect(await tenants.settings(freshTenant())).toEqual(DEFAULTS);
    });

    it('changes only the settings given, registers the tenant, and keeps them when it registers again', async () => {
      // Prepare
      const tenants = make();
      const tenant = freshTenant();

      // Act
      await tenants.update(tenant, { retentionDays: 30 }, NOW);
      await tenants.update(tenant, { archive: true }, NOW + 1);
      await tenants.register(tenant, NOW + 2);

      // Assess
      expect(await tenants.settings(tenant)).toEqual({ retentionDays: 30, archive: true });
      expect(await tenants.list()).toContain(tenant);
    });

    it('lists every registered tenant and no other', async () => {
      // Prepare
      const tenants = make();
      const [one, two, never] = [freshTenant(), freshTenant(), freshTenant()];

      // Act
      await tenants.register(one, NOW);
      await tenants.register(two, NOW);
      await tenants.register(one, NOW + 5);
      const listed = await tenants.list();

      // Assess
      expect(listed.filter((tenant) => tenant === one || tenant === two).sort()).toEqual([one, two].sort());
      expect(listed).not.toContain(never);
    });
  });
};

const tokenOf = (tenant: string, createdAt: number, actor?: string): TokenRecord => ({
  tenant,
  tokenId: `tok_${randomBytes(8).toString('hex')}`,
  name: `token ${createdAt}`,
  scopes: ['read', 'download'],
  tokenHash: randomBytes(32).toString('hex'),
  createdAt,
  ...(actor !== undefined ? { actor } : {}),
});

/** The behaviour every TokenStore must have. */
export const describeTokenStoreContract = (name: string, make: () => TokenStore): void => {
  describe(`TokenStore contract: ${name}`, () => {
    it('finds a stored token by its hash only, as stored', async () => {
      // Prepare
      const tokens = make();
      const token = tokenOf(freshTenant(), NOW, 'ana@example.com');

      // Act
      await tokens.putToken(token);

      // Assess
      expect(await tokens.findTokenByHash(token.tokenHash)).toEqual(token);
      expect(await tokens.findTokenByHash(randomBytes(32).toString('hex'))).toBeUndefined();
    });

    it("lists a tenant's tokens oldest first, and no other tenant's", async () => {
      // Prepare
      const tokens = make();
      const tenant = freshTenant();
      const newer = tokenOf(tenant, NOW + 10);
      const older = tokenOf(tenant, NOW);
      await tokens.putToken(newer);
      await tokens.putToken(older);
      await tokens.putToken(tokenOf(freshTenant(), NOW));

      // Act
      const listed = await tokens.listTokens(tenant);

      // Assess
      expect(listed).toEqual([older, newer]);
    });

    it('refuses a token whose id or hash is taken, as a conflict', async () => {
      // Prepare
      const tokens = make();
      const token = tokenOf(freshTenant(), NOW);
      await tokens.putToken(token);

      // Act
      const sameHash = tokens.putToken({ ...tokenOf(token.tenant, NOW), tokenHash: token.tokenHash });
      const sameId = tokens.putToken({ ...tokenOf(token.tenant, NOW), tokenId: token.tokenId });

      // Assess
      await expect(sameHash).rejects.toBeInstanceOf(ConflictError);
      await expect(sameId).rejects.toBeInstanceOf(ConflictError);
      expect(await tokens.listTokens(token.tenant)).toEqual([token]);
    });

    it("revokes a tenant's own token only", async () => {
      // Prepare
      const tokens = make();
      const token = tokenOf(freshTenant(), NOW);
      await tokens.putToken(token);

      // Act
      const byOther = await tokens.revokeToken(freshTenant(), token.tokenId);
      const byOwner = await tokens.revokeToken(token.tenant, token.tokenId);
      const again = await tokens.revokeToken(token.tenant, token.tokenId);

      // Assess
      expect([byOther, byOwner, again]).toEqual([false, true, false]);
      expect(await tokens.findTokenByHash(token.tokenHash)).toBeUndefined();
      expect(await tokens.listTokens(token.tenant)).toEqual([]);
    });
  });
};

const appOf = (tenant: string, createdAt: number): KoreAppRecord => ({
  appId: `cs-${randomBytes(8).toString('hex')}`,
  tenant,
  name: `app ${createdAt}`,
  clientSecret: randomBytes(24).toString('base64url'),
  scopes: ['read'],
  createdAt,
});

/** The behaviour every KoreAppStore must have. */
export const describeKoreAppStoreContract = (name: string, make: () => KoreAppStore): void => {
  describe(`KoreAppStore contract: ${name}`, () => {
    it("finds an app by id, lists a tenant's apps oldest first, refuses a taken id", async () => {
      // Prepare
      const apps = make();
      const tenant = freshTenant();
      const newer = appOf(tenant, NOW + 10);
      const older = appOf(tenant, NOW);

      // Act
      await apps.putApp(newer);
      await apps.putApp(older);
      const taken = apps.putApp({ ...appOf(freshTenant(), NOW), appId: older.appId });

      // Assess
      await expect(taken).rejects.toBeInstanceOf(ConflictError);
      expect(await apps.findApp(older.appId)).toEqual(older);
      expect(await apps.findApp('cs-never')).toBeUndefined();
      expect(await apps.listApps(tenant)).toEqual([older, newer]);
    });

    it("revokes a tenant's own app only", async () => {
      // Prepare
      const apps = make();
      const app = appOf(freshTenant(), NOW);
      await apps.putApp(app);

      // Act
      const byOther = await apps.revokeApp(freshTenant(), app.appId);
      const byOwner = await apps.revokeApp(app.tenant, app.appId);

      // Assess
      expect([byOther, byOwner]).toEqual([false, true]);
      expect(await apps.findApp(app.appId)).toBeUndefined();
    });
  });
};
