import { randomUUID } from 'node:crypto';
import type {
  IdempotencyClaim,
  IdempotencyStore,
  StoredResponse,
} from '../../lambdas/ports/idempotency-store.js';

interface Claim {
  readonly claimId: string;
  readonly bodyHash: string;
  readonly expiresAt: number;
  response?: StoredResponse;
}

/**
 * An {@link IdempotencyStore} in memory: a key is claimed once per `ttlSeconds` (by the given
 * clock, as the DynamoDB store enforces expiry itself), and only the claim's holder completes it.
 */
export class InMemoryIdempotencyStore implements IdempotencyStore {
  readonly #claims = new Map<string, Claim>();
  readonly #clock: () => number;
  readonly #ttlSeconds: number;

  constructor(options: { readonly clock?: () => number; readonly ttlSeconds?: number } = {}) {
    this.#clock = options.clock ?? Date.now;
    this.#ttlSeconds = options.ttlSeconds ?? 24 * 3600;
  }

  async claim(tenant: string, key: string, bodyHash: string): Promise<IdempotencyClaim> {
    const id = `${tenant}\u0000${key}`;
    const nowSeconds = Math.floor(this.#clock() / 1000);
    const existing = this.#claims.get(id);
    if (existing && existing.expiresAt > nowSeconds) {
      return {
        claimId: existing.claimId,
        bodyHash: existing.bodyHash,
        created: false,
        ...(existing.response ? { response: existing.response } : {}),
      };
    }
    const claim: Claim = { claimId: randomUUID(), bodyHash, expiresAt: nowSeconds + this.#ttlSeconds };
    this.#claims.set(id, claim);
    return { claimId: claim.claimId, bodyHash, created: true };
  }

  async complete(tenant: string, key: string, claimId: string, response: StoredResponse): Promise<void> {
    const claim = this.#claims.get(`${tenant}\u0000${key}`);
    if (claim?.claimId === claimId) claim.response = structuredClone(response);
  }
}
