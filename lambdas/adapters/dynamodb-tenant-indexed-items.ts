import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  paginateQuery,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { ConflictError } from '../domain/errors.js';
import {
  credentialLookupKey,
  credentialPrefix,
  credentialTenantKey,
  tenantPartition,
} from './dynamodb-keys.js';
import { CONTROL_KEYS } from './table-definitions.js';

const { partition: PK, sort: SK } = CONTROL_KEYS;

type Item = Record<string, unknown>;

/**
 * The item of `kind` stored under `lookup` (the one read a request makes): a function of its own,
 * so a lookup needs nothing of {@link TenantIndexedItems}'s writing side.
 */
export const findIndexedItem = async (
  doc: DynamoDBDocumentClient,
  table: string,
  kind: string,
  lookup: string,
): Promise<Item | undefined> => {
  const { Item } = await doc.send(
    new GetCommand({ TableName: table, Key: credentialLookupKey(kind, lookup) }),
  );
  return Item;
};

/**
 * Credentials kept twice in the control table, so that both reads are one key lookup: under their
 * lookup value (`<kind>#<lookup>` / `<kind>`: what a request resolves) and under their tenant
 * (`tenant#<tenant>` / `<kind>#<id>`: what listing and revoking read). Both copies are written
 * and deleted in one transaction, so neither exists without the other.
 */
export class TenantIndexedItems {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #kind: string;

  constructor(doc: DynamoDBDocumentClient, table: string, kind: string) {
    this.#doc = doc;
    this.#table = table;
    this.#kind = kind;
  }

  /** Writes both copies of a new item; throws `duplicateMessage` when either key is taken. */
  async put(
    keys: { lookup: string; tenant: string; id: string },
    attributes: Item,
    duplicateMessage: string,
  ): Promise<void> {
    const put = (key: Item) => ({
      Put: {
        TableName: this.#table,
        Item: { ...key, ...attributes },
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': PK },
      },
    });
    try {
      await this.#doc.send(
        new TransactWriteCommand({
          TransactItems: [put(this.#lookupKey(keys.lookup)), put(this.#tenantKey(keys.tenant, keys.id))],
        }),
      );
    } catch (error) {
      if (error instanceof TransactionCanceledException)
        throw new ConflictError(duplicateMessage, { cause: error });
      throw error;
    }
  }

  /** The item stored under `lookup`. */
  find(lookup: string): Promise<Item | undefined> {
    return findIndexedItem(this.#doc, this.#table, this.#kind, lookup);
  }

  /** Every item of `tenant`, oldest first (by `createdAt`). */
  async list(tenant: string): Promise<Item[]> {
    const items: Item[] = [];
    const pages = paginateQuery(
      { client: this.#doc },
      {
        TableName: this.#table,
        KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
        ExpressionAttributeNames: { '#pk': PK, '#sk': SK },
        ExpressionAttributeValues: {
          ':pk': tenantPartition(tenant),
          ':prefix': credentialPrefix(this.#kind),
        },
      },
    );
    for await (const page of pages) items.push(...(page.Items ?? []));
    return items.sort((a, b) => Number(a.createdAt) - Number(b.createdAt));
  }

  /**
   * Deletes both copies of `tenant`'s item `id` (its lookup value read from `lookupOf`); false when
   * the tenant has no such item, so one tenant can never revoke another's.
   */
  async delete(tenant: string, id: string, lookupOf: (item: Item) => string): Promise<boolean> {
    const tenantKey = this.#tenantKey(tenant, id);
    const { Item } = await this.#doc.send(new GetCommand({ TableName: this.#table, Key: tenantKey }));
    if (!Item) return false;
    await this.#doc.send(
      new TransactWriteCommand({
        TransactItems: [
          { Delete: { TableName: this.#table, Key: this.#lookupKey(lookupOf(Item)) } },
          { Delete: { TableName: this.#table, Key: tenantKey } },
        ],
      }),
    );
    return true;
  }

  #lookupKey(lookup: string): Item {
    return credentialLookupKey(this.#kind, lookup);
  }

  #tenantKey(tenant: string, id: string): Item {
    return credentialTenantKey(this.#kind, tenant, id);
  }
}
