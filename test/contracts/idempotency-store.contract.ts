import { describe, expect, it } from '@jest/globals';
import type { IdempotencyStore } from '../../lambdas/ports/idempotency-store.js';
import { freshTenant } from './dynamodb-local.js';

/** A store under test and the clock it reads, which the test moves. */
export interface ClockedIdempotencyStore {
  readonly store: IdempotencyStore;
  /** Moves the store's clock forward. */
  advance(ms: number): void;
}

const TTL_MS = 24 * 3600 * 1000;

/**
 * The behaviour every IdempotencyStore must have (see the port): the first claim of a key creates
 * it; later claims within 24 h find it with the first request's body hash and, once completed, its
 * response; after that the key is free again; only the claim's holder completes it.
 */
export const describeIdempotencyStoreContract = (name: string, make: () => ClockedIdempotencyStore): void => {
  describe(`IdempotencyStore contract: ${name}`, () => {
    it('creates a claim on first use, and returns that claim (not a new one) to later requests', async () => {
      // Prepare
      const { store } = make();
      const tenant = freshTenant();

      // Act
      const first = await store.claim(tenant, 'key-1', 'hash-a');
      const second = await store.claim(tenant, 'key-1', 'hash-b');

      // Assess
      expect(first).toMatchObject({ bodyHash: 'hash-a', created: true });
      expect(second).toEqual({ claimId: first.claimId, bodyHash: 'hash-a', created: false });
    });

    it("answers later claims with the response stored by the claim's holder", async () => {
      // Prepare
      const { store } = make();
      const tenant = freshTenant();
      const first = await store.claim(tenant, 'key-1', 'hash-a');

      // Act
      await store.complete(tenant, 'key-1', first.claimId, { statusCode: 201, body: { ids: [7, 8] } });
      const retry = await store.claim(tenant, 'key-1', 'hash-a');

      // Assess
      expect(retry).toEqual({
        claimId: first.claimId,
        bodyHash: 'hash-a',
        created: false,
        response: { statusCode: 201, body: { ids: [7, 8] } },
      });
    });

    it('ignores a completion under another claim id', async () => {
      // Prepare
      const { store } = make();
      const tenant = freshTenant();
      await store.claim(tenant, 'key-1', 'hash-a');

      // Act
      await store.complete(tenant, 'key-1', 'not-the-claim', { statusCode: 201, body: { ids: [1] } });
      const retry = await store.claim(tenant, 'key-1', 'hash-a');

      // Assess
      expect(retry.response).toBeUndefined();
    });

    it('keeps keys per tenant', async () => {
      // Prepare
      const { store } = make();
      await store.claim(freshTenant(), 'shared', 'hash-a');

      // Act
      const other = await store.claim(freshTenant(), 'shared', 'hash-b');

      // Assess
      expect(other).toMatchObject({ bodyHash: 'hash-b', created: true });
    });

    it('treats a key as never used once 24 hours passed since its first use', async () => {
      // Prepare
      const { store, advance } = make();
      const tenant = freshTenant();
      const first = await store.claim(tenant, 'key-1', 'hash-a');
      await store.complete(tenant, 'key-1', first.claimId, { statusCode: 201, body: { ids: [1] } });

      // Act
      advance(TTL_MS - 1000);
      const stillLive = await store.claim(tenant, 'key-1', 'hash-b');
      advance(1000);
      const expired = await store.claim(tenant, 'key-1', 'hash-b');

      // Assess
      expect(stillLive).toMatchObject({ claimId: first.claimId, created: false });
      expect(expired).toMatchObject({ bodyHash: 'hash-b', created: true });
      expect(expired.claimId).not.toBe(first.claimId);
      expect(expired.response).toBeUndefined();
    });
  });
};
