import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import type { Scope } from '../domain/scopes.js';
import type { KoreAppRecord, KoreAppStore } from '../ports/kore-app-store.js';
import { CONTROL_KEYS } from './table-definitions.js';

const { partition: PK, sort: SK } = CONTROL_KEYS;

/**
 * Kore apps in the control table, twice: under their app id (what a JWT's `appId` claim looks up)
 * and under their tenant (what `kore-app list` and `revoke` read). Both items change together.
 */
export class DynamoDbKoreAppStore implements KoreAppStore {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(doc: DynamoDBDocumentClient, options: { readonly controlTable: string }) {
    this.#doc = doc;
    this.#table = options.controlTable;
  }

  async putApp(app: KoreAppRecord): Promise<void> {
    const attributes = {
      appId: app.appId,
      tenant: app.tenant,
      name: app.name,
      clientSecret: app.clientSecret,
      scopes: [...app.scopes],
      createdAt: app.createdAt,
    };
    const put = (pk: string, sk: string) => ({
      Put: {
        TableName: this.#table,
        Item: { [PK]: pk, [SK]: sk, ...attributes },
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': PK },
      },
    });
    try {
      await this.#doc.send(
        new TransactWriteCommand({
          TransactItems: [
            put(`koreapp#${app.appId}`, 'koreapp'),
            put(`tenant#${app.tenant}`, `koreapp#${app.appId}`),
          ],
        }),
      );
    } catch (error) {
      if (error instanceof TransactionCanceledException) {
        throw new Error('A kore app with this id already exists', { cause: error });
      }
      throw error;
    }
  }

  async findApp(appId: string): Promise<KoreAppRecord | undefined> {
    const { Item } = await this.#doc.send(
      new GetCommand({ TableName: this.#table, Key: { [PK]: `koreapp#${appId}`, [SK]: 'koreapp' } }),
    );
    return Item ? toApp(Item) : undefined;
  }

  async listApps(tenant: string): Promise<KoreAppRecord[]> {
    const apps: KoreAppRecord[] = [];
    let exclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const output = await this.#doc.send(
        new QueryCommand({
          TableName: this.#table,
          KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
          ExpressionAttributeNames: { '#pk': PK, '#sk': SK },
          ExpressionAttributeValues: { ':pk': `tenant#${tenant}`, ':prefix': 'koreapp#' },
          ExclusiveStartKey: exclusiveStartKey,
        }),
      );
      apps.push(...(output.Items ?? []).map(toApp));
      exclusiveStartKey = output.LastEvaluatedKey;
    } while (exclusiveStartKey);
    return apps.sort((a, b) => a.createdAt - b.createdAt);
  }

  async revokeApp(tenant: string, appId: string): Promise<boolean> {
    const { Item } = await this.#doc.send(
      new GetCommand({ TableName: this.#table, Key: { [PK]: `tenant#${tenant}`, [SK]: `koreapp#${appId}` } }),
    );
    if (!Item) return false;
    await this.#doc.send(
      new TransactWriteCommand({
        TransactItems: [
          { Delete: { TableName: this.#table, Key: { [PK]: `koreapp#${appId}`, [SK]: 'koreapp' } } },
          { Delete: { TableName: this.#table, Key: { [PK]: `tenant#${tenant}`, [SK]: `koreapp#${appId}` } } },
        ],
      }),
    );
    return true;
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
