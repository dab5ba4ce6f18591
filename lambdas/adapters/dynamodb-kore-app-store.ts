import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Scope } from '../domain/scopes.js';
import type { KoreAppRecord, KoreAppStore } from '../ports/kore-app-store.js';
import { TenantIndexedItems } from './dynamodb-tenant-indexed-items.js';

/**
 * Kore apps in the control table, under their app id (what a JWT's `appId` claim looks up) and
 * under their tenant (what `kore-app list` and `revoke` read).
 */
export class DynamoDbKoreAppStore implements KoreAppStore {
  readonly #items: TenantIndexedItems;

  constructor(doc: DynamoDBDocumentClient, options: { readonly controlTable: string }) {
    this.#items = new TenantIndexedItems(doc, options.controlTable, 'koreapp');
  }

  async putApp(app: KoreAppRecord): Promise<void> {
    await this.#items.put(
      { lookup: app.appId, tenant: app.tenant, id: app.appId },
      {
        appId: app.appId,
        tenant: app.tenant,
        name: app.name,
        clientSecret: app.clientSecret,
        scopes: [...app.scopes],
        createdAt: app.createdAt,
      },
      'A kore app with this id already exists',
    );
  }

  async findApp(appId: string): Promise<KoreAppRecord | undefined> {
    const item = await this.#items.find(appId);
    return item ? toApp(item) : undefined;
  }

  async listApps(tenant: string): Promise<KoreAppRecord[]> {
    return (await this.#items.list(tenant)).map(toApp);
  }

  revokeApp(tenant: string, appId: string): Promise<boolean> {
    return this.#items.delete(tenant, appId, (item) => String(item.appId));
  }
}

const toApp = (item: Record<string, unknown>): KoreAppRecord => ({
  appId: String(item.appId),
  tenant: String(item.tenant),
  name: String(item.name),
  clientSecret: String(item.clientSecret),
  scopes: (item.scopes as Scope[]) ?? [],
  createdAt: Number(item.createdAt),
});
