/** The response an idempotent request gave, kept to answer its retries. */
export interface StoredResponse {
  readonly statusCode: number;
  readonly body: unknown;
}

/** What a claim on an idempotency key found. */
export interface IdempotencyClaim {
  /** Identifies this use of the key; part of the dedupe keys of the events it writes. */
  readonly claimId: string;
  /** SHA-256 of the request body that first used the key. */
  readonly bodyHash: string;
  /** The first request's response, once it finished. */
  readonly response?: StoredResponse;
  /** True when this call created the claim (the first request with the key). */
  readonly created: boolean;
}

/**
 * Idempotency keys of a tenant's requests. A key lives for a fixed time (24 h) after its first
 * use; after that it is treated as never used, whatever the store's TTL sweeper has done.
 */
export interface IdempotencyStore {
  /** Claims `key` for a request with `bodyHash`, or returns the live claim another request made. */
  claim(tenant: string, key: string, bodyHash: string): Promise<IdempotencyClaim>;
  /** Stores the response of the request that holds `claimId`, for its retries. */
  complete(tenant: string, key: string, claimId: string, response: StoredResponse): Promise<void>;
}
