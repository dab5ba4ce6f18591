import { ConflictError } from '../../lambdas/domain/errors.js';
import type { TokenRecord, TokenStore } from '../../lambdas/ports/control-store.js';
import type { KoreAppRecord, KoreAppStore } from '../../lambdas/ports/kore-app-store.js';
import {
  DEFAULT_TENANT_SETTINGS,
  type TenantSettings,
  type TenantStore,
} from '../../lambdas/ports/tenant-store.js';

/** A {@link TenantStore} in memory: registering keeps settings; unset settings read as the defaults. */
export class InMemoryTenantStore implements TenantStore {
  readonly #tenants = new Map<string, Partial<TenantSettings>>();
  readonly #defaults: TenantSettings;

  constructor(defaults: TenantSettings = DEFAULT_TENANT_SETTINGS) {
    this.#defaults = defaults;
  }

  async register(tenant: string): Promise<void> {
    if (!this.#tenants.has(tenant)) this.#tenants.set(tenant, {});
  }

  async settings(tenant: string): Promise<TenantSettings> {
    return { ...this.#defaults, ...this.#tenants.get(tenant) };
  }

  async update(tenant: string, settings: Partial<TenantSettings>): Promise<void> {
    const defined = Object.fromEntries(Object.entries(settings).filter(([, value]) => value !== undefined));
    this.#tenants.set(tenant, { ...this.#tenants.get(tenant), ...defined });
  }

  async list(): Promise<string[]> {
    return [...this.#tenants.keys()];
  }
}

/**
 * Items found by one lookup value and listed per tenant (oldest first), as the DynamoDB stores
 * keep tokens and kore apps: a taken id or lookup value refuses the put with a ConflictError.
 */
class TenantIndexed<T extends { readonly tenant: string; readonly createdAt: number }> {
  readonly #byLookup = new Map<string, T>();
  readonly #byTenant = new Map<string, T>();

  constructor(
    readonly lookupOf: (item: T) => string,
    readonly idOf: (item: T) => string,
    readonly duplicateMessage: string,
  ) {}

  put(item: T): void {
    const tenantKey = `${item.tenant}\u0000${this.idOf(item)}`;
    if (this.#byLookup.has(this.lookupOf(item)) || this.#byTenant.has(tenantKey))
      throw new ConflictError(this.duplicateMessage);
    const stored = structuredClone(item);
    this.#byLookup.set(this.lookupOf(item), stored);
    this.#byTenant.set(tenantKey, stored);
  }

  find(lookup: string): T | undefined {
    return this.#byLookup.get(lookup);
  }

  list(tenant: string): T[] {
    return [...this.#byTenant.values()]
      .filter((item) => item.tenant === tenant)
      .sort((a, b) => a.createdAt - b.createdAt);
  }

  delete(tenant: string, id: string): boolean {
    const tenantKey = `${tenant}\u0000${id}`;
    const item = this.#byTenant.get(tenantKey);
    if (!item) return false;
    this.#byTenant.delete(tenantKey);
    this.#byLookup.delete(this.lookupOf(item));
    return true;
  }
}

/** A {@link TokenStore} in memory: tokens found by hash, listed and revoked per tenant. */
export class InMemoryTokenStore implements TokenStore {
  readonly #items = new TenantIndexed<TokenRecord>(
    (token) => token.tokenHash,
    (token) => token.tokenId,
    'A token with this id or value already exists',
  );

  async putToken(token: TokenRecord): Promise<void> {
    this.#items.put(token);
  }

  async findTokenByHash(tokenHash: string): Promise<TokenRecord | undefined> {
    return this.#items.find(tokenHash);
  }

  async listTokens(tenant: string): Promise<TokenRecord[]> {
    return this.#items.list(tenant);
  }

  async revokeToken(tenant: string, tokenId: string): Promise<boolean> {
    return this.#items.delete(tenant, tokenId);
  }
}

/** A {@link KoreAppStore} in memory: apps found by id, listed and revoked per tenant. */
export class InMemoryKoreAppStore implements KoreAppStore {
  readonly #items = new TenantIndexed<KoreAppRecord>(
    (app) => app.appId,
    (app) => app.appId,
    'A kore app with this id already exists',
  );

  async putApp(app: KoreAppRecord): Promise<void> {
    this.#items.put(app);
  }

  async findApp(appId: string): Promise<KoreAppRecord | undefined> {
    return this.#items.find(appId);
  }

  async listApps(tenant: string): Promise<KoreAppRecord[]> {
    return this.#items.list(tenant);
  }

  async revokeApp(tenant: string, appId: string): Promise<boolean> {
    return this.#items.delete(tenant, appId);
  }
}
