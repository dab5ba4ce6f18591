import { type DynamoDBDocumentClient, GetCommand, paginateQuery, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { DEFAULT_TENANT_SETTINGS, type TenantSettings, type TenantStore } from '../ports/tenant-store.js';
import { TENANTS_PARTITION, tenantSettingsKey } from './dynamodb-keys.js';
import { CONTROL_KEYS } from './table-definitions.js';

const { partition: PK, sort: SK } = CONTROL_KEYS;

/** Tenants and their settings in the control table. */
export class DynamoDbTenantStore implements TenantStore {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;

  readonly #defaults: TenantSettings;

  /** `defaults` apply to tenants whose settings were never changed (the deployment's defaults). */
  constructor(
    doc: DynamoDBDocumentClient,
    options: { readonly controlTable: string; readonly defaults?: TenantSettings },
  ) {
    this.#doc = doc;
    this.#table = options.controlTable;
    this.#defaults = options.defaults ?? DEFAULT_TENANT_SETTINGS;
  }

  async register(tenant: string, now: number): Promise<void> {
    await this.update(tenant, {}, now);
  }

  async settings(tenant: string): Promise<TenantSettings> {
    const { Item } = await this.#doc.send(
      new GetCommand({ TableName: this.#table, Key: tenantSettingsKey(tenant) }),
    );
    return {
      retentionDays:
        typeof Item?.retentionDays === 'number' ? Item.retentionDays : this.#defaults.retentionDays,
      archive: typeof Item?.archive === 'boolean' ? Item.archive : this.#defaults.archive,
    };
  }

  async update(tenant: string, settings: Partial<TenantSettings>, now: number): Promise<void> {
    const sets = ['#registeredAt = if_not_exists(#registeredAt, :now)'];
    const names: Record<string, string> = { '#registeredAt': 'registeredAt' };
    const values: Record<string, unknown> = { ':now': now };
    if (settings.retentionDays !== undefined) {
      sets.push('#days = :days');
      names['#days'] = 'retentionDays';
      values[':days'] = settings.retentionDays;
    }
    if (settings.archive !== undefined) {
      sets.push('#archive = :archive');
      names['#archive'] = 'archive';
      values[':archive'] = settings.archive;
    }
    await this.#doc.send(
      new UpdateCommand({
        TableName: this.#table,
        Key: tenantSettingsKey(tenant),
        UpdateExpression: `SET ${sets.join(', ')}`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
  }

  async list(): Promise<string[]> {
    const tenants: string[] = [];
    const pages = paginateQuery(
      { client: this.#doc },
      {
        TableName: this.#table,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': PK },
        ExpressionAttributeValues: { ':pk': TENANTS_PARTITION },
      },
    );
    for await (const page of pages) for (const item of page.Items ?? []) tenants.push(String(item[SK]));
    return tenants;
  }
}
