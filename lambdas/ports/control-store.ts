import type { Scope } from '../domain/scopes.js';

/** A token as stored: never the token itself, only its SHA-256. */
export interface TokenRecord {
  readonly tenant: string;
  readonly tokenId: string;
  readonly name: string;
  readonly scopes: readonly Scope[];
  readonly tokenHash: string;
  readonly createdAt: number;
  /** The one actor whose entries the token may read (see `Principal.actor`); absent: the whole tenant. */
  readonly actor?: string;
}

/** Tenants' API tokens. */
export interface TokenStore {
  /** Stores a token; fails if its id or hash already exists. */
  putToken(token: TokenRecord): Promise<void>;
  /** The token with this SHA-256, if any. */
  findTokenByHash(tokenHash: string): Promise<TokenRecord | undefined>;
  /** Every token of a tenant. */
  listTokens(tenant: string): Promise<TokenRecord[]>;
  /** Revokes a token; false when the tenant has no token with this id. */
  revokeToken(tenant: string, tokenId: string): Promise<boolean>;
}

/**
 * What a request's authentication reads of the tokens: the lookup alone, so the functions that only
 * authenticate carry none of the code that writes, lists or revokes tokens.
 */
export type TokenLookup = Pick<TokenStore, 'findTokenByHash'>;
