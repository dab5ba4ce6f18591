/** The response an idempotent request gave, kept to answer its retries. */
export interface StoredResponse {
  readonly statusCode: number;
  readonly body: unknown;
}

/** What a claim on an idempotency key found. */
export interface IdempotencyClaim {
  /** Identifies this use of the key: only its holder records ids and completes it. */
  readonly claimId: string;
  /** SHA-256 of the request body that first used the key. */
  readonly bodyHash: string;
  /** The first request's response, once it finished. */
  readonly response?: StoredResponse;
  /** True when this call created the claim (the first request with the key). */
  readonly created: boolean;
  /** The entry ids the claim's request was given before it wrote anything, once it was. */
  readonly ids?: readonly number[];
}

/**
 * Idempotency keys of a tenant's requests. A key lives for a fixed time (24 h) after its first
 * use; after that it is treated as never used, whatever the store's TTL sweeper has done.
 */
export interface IdempotencyStore {
  /** Claims `key` for a request with `bodyHash`, or returns the live claim another request made. */
  claim(
    tenant: string,
    key: string,
    bodyHash: string,
    options?: { readonly lifetimeSeconds?: number },
  ): Promise<IdempotencyClaim>;
  /**
   * Records the ids the request holding `claimId` will write its entries under, unless ids were
   * recorded already (a concurrent duplicate got there first); returns the ids that count. With
   * `replace`, overwrites them (an id had to change while writing).
   */
  assignIds(
    tenant: string,
    key: string,
    claimId: string,
    ids: readonly number[],
    options?: { readonly replace?: boolean },
  ): Promise<readonly number[]>;
  /** Stores the response of the request that holds `claimId`, for its retries. */
  complete(tenant: string, key: string, claimId: string, response: StoredResponse): Promise<void>;
}

/**
 * The key under which the service itself makes a write idempotent (an EventBridge event, a purge
 * job's record, a call's self-audit record). The NUL separator cannot occur in an HTTP header, so no Idempotency-Key a caller
 * sends can name the same claim.
 */
export const internalIdempotencyKey = (kind: 'eventbridge' | 'purge' | 'self-audit', id: string): string =>
  `${kind}\u0000${id}`;
