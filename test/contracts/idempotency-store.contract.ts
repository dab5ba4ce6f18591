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
 * it; later claims within 24 h (or the claim's own lifetime) find it with the first request's body
 * hash, the ids it recorded and, once completed, its response; after that the key is free again;
 * only the claim's holder records ids and completes it; the first ids recorded win unless replaced.
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

    it('ends a claim after its own lifetime when one is given', async () => {
      // Prepare
      const { store, advance } = make();
      const tenant = freshTenant();
      const first = await store.claim(tenant, 'key-1', 'hash-a', { lifetimeSeconds: 60 });

      // Act
      advance(59_000);
      const stillLive = await store.claim(tenant, 'key-1', 'hash-a');
      advance(1000);
      const expired = await store.claim(tenant, 'key-1', 'hash-a');

      // Assess
      expect(stillLive).toMatchObject({ claimId: first.claimId, created: false });
      expect(expired).toMatchObject({ created: true });
      expect(expired.claimId).not.toBe(first.claimId);
    });

    it('records the first ids assigned to a claim and answers them to later claims', async () => {
      // Prepare
      const { store } = make();
      const tenant = freshTenant();
      const first = await store.claim(tenant, 'key-1', 'hash-a');

      // Act
      const assigned = await store.assignIds(tenant, 'key-1', first.claimId, [11, 12]);
      const retry = await store.claim(tenant, 'key-1', 'hash-a');

      // Assess
      expect(assigned).toEqual([11, 12]);
      expect(retry).toEqual({ claimId: first.claimId, bodyHash: 'hash-a', created: false, ids: [11, 12] });
    });

    it('keeps the first ids when a concurrent duplicate assigns others, answering the first to it', async () => {
      // Prepare: two requests with the key, both before either recorded ids.
      const { store } = make();
      const tenant = freshTenant();
      const first = await store.claim(tenant, 'key-1', 'hash-a');
      const duplicate = await store.claim(tenant, 'key-1', 'hash-a');

      // Act
      const won = await store.assignIds(tenant, 'key-1', first.claimId, [11, 12]);
      const lost = await store.assignIds(tenant, 'key-1', duplicate.claimId, [21, 22]);

      // Assess
      expect(won).toEqual([11, 12]);
      expect(lost).toEqual([11, 12]);
      expect((await store.claim(tenant, 'key-1', 'hash-a')).ids).toEqual([11, 12]);
    });

    it('replaces the recorded ids when asked to', async () => {
      // Prepare
      const { store } = make();
      const tenant = freshTenant();
      const first = await store.claim(tenant, 'key-1', 'hash-a');
      await store.assignIds(tenant, 'key-1', first.claimId, [11, 12]);

      // Act
      const replaced = await store.assignIds(tenant, 'key-1', first.claimId, [11, 13], { replace: true });

      // Assess
      expect(replaced).toEqual([11, 13]);
      expect((await store.claim(tenant, 'key-1', 'hash-a')).ids).toEqual([11, 13]);
    });

    it("records no ids under another claim id (an expired claim's), answering its own ids back", async () => {
      // Prepare: the first claim expired and a new request holds the key.
      const { store, advance } = make();
      const tenant = freshTenant();
      const old = await store.claim(tenant, 'key-1', 'hash-a');
      advance(TTL_MS);
      const current = await store.claim(tenant, 'key-1', 'hash-a');

      // Act
      const late = await store.assignIds(tenant, 'key-1', old.claimId, [11, 12]);
      const claim = await store.claim(tenant, 'key-1', 'hash-a');

      // Assess
      expect(late).toEqual([11, 12]);
      expect(claim).toMatchObject({ claimId: current.claimId, created: false });
      expect(claim.ids).toBeUndefined();
    });

    it('forgets the ids with the claim once it expired', async () => {
      // Prepare
      const { store, advance } = make();
      const tenant = freshTenant();
      const first = await store.claim(tenant, 'key-1', 'hash-a');
      await store.assignIds(tenant, 'key-1', first.claimId, [11, 12]);

      // Act
      advance(TTL_MS);
      const renewed = await store.claim(tenant, 'key-1', 'hash-a');

      // Assess
      expect(renewed).toEqual({ claimId: renewed.claimId, bodyHash: 'hash-a', created: true });
      expect(renewed.claimId).not.toBe(first.claimId);
    });
  });
};
