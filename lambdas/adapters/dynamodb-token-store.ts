import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Scope } from '../domain/scopes.js';
import type { TokenLookup, TokenRecord, TokenStore } from '../ports/control-store.js';
import { findIndexedItem, TenantIndexedItems } from './dynamodb-tenant-indexed-items.js';

const KIND = 'token';

/**
 * Tokens in the control table, under their hash (what a request looks up) and under their tenant
 * (what `tokens list` and `revoke` read). Only the hash is stored, never the token.
 */
export class DynamoDbTokenStore implements TokenStore {
  readonly #items: TenantIndexedItems;

  constructor(doc: DynamoDBDocumentClient, options: { readonly controlTable: string }) {
    this.#items = new TenantIndexedItems(doc, options.controlTable, KIND);
  }

  async putToken(token: TokenRecord): Promise<void> {
    await this.#items.put(
      { lookup: token.tokenHash, tenant: token.tenant, id: token.tokenId },
      {
        tenant: token.tenant,
        tokenId: token.tokenId,
        name: token.name,
        scopes: [...token.scopes],
        tokenHash: token.tokenHash,
        createdAt: token.createdAt,
        ...(token.actor !== undefined ? { actor: token.actor } : {}),
      },
      'A token with this id or value already exists',
    );
  }

  async findTokenByHash(tokenHash: string): Promise<TokenRecord | undefined> {
    const item = await this.#items.find(tokenHash);
    return item ? toToken(item) : undefined;
  }

  async listTokens(tenant: string): Promise<TokenRecord[]> {
    return (await this.#items.list(tenant)).map(toToken);
  }

  revokeToken(tenant: string, tokenId: string): Promise<boolean> {
    return this.#items.delete(tenant, tokenId, (item) => String(item.tokenHash));
  }
}

/** The lookup of tokens by hash alone (what authentication reads), without the writing side. */
export class DynamoDbTokenLookup implements TokenLookup {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(doc: DynamoDBDocumentClient, options: { readonly controlTable: string }) {
    this.#doc = doc;
    this.#table = options.controlTable;
  }

  async findTokenByHash(tokenHash: string): Promise<TokenRecord | undefined> {
    const item = await findIndexedItem(this.#doc, this.#table, KIND, tokenHash);
    return item ? toToken(item) : undefined;
  }
}

const toToken = (item: Record<string, unknown>): TokenRecord => ({
  tenant: String(item.tenant),
  tokenId: String(item.tokenId),
  name: String(item.name),
  scopes: (item.scopes as Scope[]) ?? [],
  tokenHash: String(item.tokenHash),
  createdAt: Number(item.createdAt),
  ...(typeof item.actor === 'string' ? { actor: item.actor } : {}),
});
