import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import type { Scope } from '../domain/scopes.js';
import type { TokenRecord, TokenStore } from '../ports/control-store.js';
import { CONTROL_KEYS } from './table-definitions.js';

const { partition: PK, sort: SK } = CONTROL_KEYS;

/**
 * Tokens in the control table, twice: under their hash (what a request looks up) and under their
 * tenant (what `tokens list` and `revoke` read). Both items are written and deleted together.
 */
export class DynamoDbTokenStore implements TokenStore {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(doc: DynamoDBDocumentClient, options: { readonly controlTable: string }) {
    this.#doc = doc;
    this.#table = options.controlTable;
  }

  async putToken(token: TokenRecord): Promise<void> {
    const attributes = {
      tenant: token.tenant,
      tokenId: token.tokenId,
      name: token.name,
      scopes: [...token.scopes],
      tokenHash: token.tokenHash,
      createdAt: token.createdAt,
    };
    try {
      await this.#doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.#table,
                Item: { [PK]: `token#${token.tokenHash}`, [SK]: 'token', ...attributes },
                ConditionExpression: 'attribute_not_exists(#pk)',
                ExpressionAttributeNames: { '#pk': PK },
              },
            },
            {
              Put: {
                TableName: this.#table,
                Item: { [PK]: `tenant#${token.tenant}`, [SK]: `token#${token.tokenId}`, ...attributes },
                ConditionExpression: 'attribute_not_exists(#pk)',
                ExpressionAttributeNames: { '#pk': PK },
              },
            },
          ],
        }),
      );
    } catch (error) {
      if (error instanceof TransactionCanceledException) {
        throw new Error('A token with this id or value already exists', { cause: error });
      }
      throw error;
    }
  }

  async findTokenByHash(tokenHash: string): Promise<TokenRecord | undefined> {
    const { Item } = await this.#doc.send(
      new GetCommand({ TableName: this.#table, Key: { [PK]: `token#${tokenHash}`, [SK]: 'token' } }),
    );
    return Item ? toToken(Item) : undefined;
  }

  async listTokens(tenant: string): Promise<TokenRecord[]> {
    const tokens: TokenRecord[] = [];
    let exclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const output = await this.#doc.send(
        new QueryCommand({
          TableName: this.#table,
          KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
          ExpressionAttributeNames: { '#pk': PK, '#sk': SK },
          ExpressionAttributeValues: { ':pk': `tenant#${tenant}`, ':prefix': 'token#' },
          ExclusiveStartKey: exclusiveStartKey,
        }),
      );
      tokens.push(...(output.Items ?? []).map(toToken));
      exclusiveStartKey = output.LastEvaluatedKey;
    } while (exclusiveStartKey);
    return tokens.sort((a, b) => a.createdAt - b.createdAt);
  }

  async revokeToken(tenant: string, tokenId: string): Promise<boolean> {
    const { Item } = await this.#doc.send(
      new GetCommand({ TableName: this.#table, Key: { [PK]: `tenant#${tenant}`, [SK]: `token#${tokenId}` } }),
    );
    if (!Item) return false;
    await this.#doc.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Delete: {
              TableName: this.#table,
              Key: { [PK]: `token#${String(Item.tokenHash)}`, [SK]: 'token' },
            },
          },
          { Delete: { TableName: this.#table, Key: { [PK]: `tenant#${tenant}`, [SK]: `token#${tokenId}` } } },
        ],
      }),
    );
    return true;
  }
}

const toToken = (item: Record<string, unknown>): TokenRecord => ({
  tenant: String(item.tenant),
  tokenId: String(item.tokenId),
  name: String(item.name),
  scopes: (item.scopes as Scope[]) ?? [],
  tokenHash: String(item.tokenHash),
  createdAt: Number(item.createdAt),
});
