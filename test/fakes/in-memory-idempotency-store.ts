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
  ids?: readonly number[];
  response?: StoredResponse;
}

/**
 * An {@link IdempotencyStore} in memory: a key is claimed once per lifetime (`ttlSeconds`, or the
 * claim's own `lifetimeSeconds`), by the given clock, as the DynamoDB store enforces expiry
 * itself; only the claim's holder records ids and completes it, and the first ids recorded win
 * unless replaced.
 */
export class InMemoryIdempotencyStore implements IdempotencyStore {
  readonly #claims = new Map<string, Claim>();
  readonly #clock: () => number;
  readonly #ttlSeconds: number;

  constructor(options: { readonly clock?: () => number; readonly ttlSeconds?: number } = {}) {
    this.#clock = options.clock ?? Date.now;
    this.#ttlSeconds = options.ttlSeconds ?? 24 * 3600;
  }

  async claim(
    tenant: string,
    key: string,
    bodyHash: string,
    options: { readonly lifetimeSeconds?: number } = {},
  ): Promise<IdempotencyClaim> {
    const id = `${tenant}\u0000${key}`;
    const nowSeconds = Math.floor(this.#clock() / 1000);
    const existing = this.#claims.get(id);
    if (existing && existing.expiresAt > nowSeconds) {
      return {
        claimId: existing.claimId,
        bodyHash: existing.bodyHash,
        created: false,
        ...(existing.ids ? { ids: [...existing.ids] } : {}),
        ...(existing.response ? { response: structuredClone(existing.response) } : {}),
      };
    }
    const claim: Claim = {
      claimId: randomUUID(),
      bodyHash,
      expiresAt: nowSeconds + (options.lifetimeSeconds ?? this.#ttlSeconds),
    };
    this.#claims.set(id, claim);
    return { claimId: claim.claimId, bodyHash, created: true };
  }

  async assignIds(
    tenant: string,
    key: string,
    claimId: string,
    ids: readonly number[],
    options: { readonly replace?: boolean } = {},
  ): Promise<readonly number[]> {
    const claim = this.#claims.get(`${tenant}\u0000${key}`);
    // A claim that expired and was taken by a new request meanwhile: this request's ids stand alone.
    if (claim?.claimId !== claimId) return ids;
    if (claim.ids && !options.replace) return [...claim.ids];
    claim.ids = [...ids];
    return ids;
  }

  async complete(tenant: string, key: string, claimId: string, response: StoredResponse): Promise<void> {
    const claim = this.#claims.get(`${tenant}\u0000${key}`);
    if (claim?.claimId === claimId) claim.response = structuredClone(response);
  }
}
