import { describe, expect, it } from '@jest/globals';
import {
  ConflictError,
  InvariantError,
  ServiceUnavailableError,
  TooManyRequestsError,
} from '../../../lambdas/domain/errors.js';
import type { EventDraft } from '../../../lambdas/domain/record.js';
import type { AppendOptions, EventStore } from '../../../lambdas/ports/event-store.js';
import type { IdempotencyStore } from '../../../lambdas/ports/idempotency-store.js';
import { type IngestRequest, ingestEvents } from '../../../lambdas/use-cases/ingest-events.js';
import { inMemoryAuditStore } from '../../fakes/in-memory-audit-store.js';
import { InMemoryIdempotencyStore } from '../../fakes/in-memory-idempotency-store.js';
import { idsOf, logins } from './trail.js';

const TENANT = 'acme';
const KEY = { key: 'order-42', bodyHash: 'a'.repeat(64) };

const setup = () => {
  const { events } = inMemoryAuditStore();
  const idempotency = new InMemoryIdempotencyStore();
  const ingest = (request: Partial<IngestRequest> = {}) =>
    ingestEvents({ events, idempotency }, { tenant: TENANT, drafts: logins(3), ...request });
  return { events, idempotency, ingest };
};

/** An event store whose next append writes only the first `stored` drafts, then fails as throttled. */
const partlyFailingOnce = (events: EventStore, stored: number): EventStore => {
  let failed = false;
  return {
    append: async (tenant: string, drafts: readonly EventDraft[], options?: AppendOptions) => {
      if (failed) return events.append(tenant, drafts, options);
      failed = true;
      await events.append(tenant, drafts.slice(0, stored), {
        ...(options?.dedupeKeys ? { dedupeKeys: options.dedupeKeys.slice(0, stored) } : {}),
      });
      throw new TooManyRequestsError('The audit store is busy: only some events were written');
    },
    findDeduplicated: (tenant, keys) => events.findDeduplicated(tenant, keys),
    queryPage: (query) => events.queryPage(query),
    countEntries: (query) => events.countEntries(query),
  };
};

describe('ingestEvents', () => {
  it("stores a producer's events and answers their ids in the order sent", async () => {
    // Prepare
    const { ingest, events } = setup();

    // Act
    const result = await ingest();

    // Assess
    const stored = events.all(TENANT);
    expect(stored.map((record) => record.message)).toEqual(['login 0', 'login 1', 'login 2']);
    expect(result).toEqual({ ids: idsOf(stored), replayed: false });
  });

  it('answers a retry with the same Idempotency-Key and body with the first ids, storing nothing twice', async () => {
    // Prepare
    const { ingest, events } = setup();
    const first = await ingest({ idempotency: KEY });

    // Act
    const retry = await ingest({ idempotency: KEY });

    // Assess
    expect(first.replayed).toBe(false);
    expect(retry).toEqual({ ids: first.ids, replayed: true });
    expect(events.all(TENANT)).toHaveLength(3);
  });

  it('refuses an Idempotency-Key reused with another body as a conflict on that header, storing nothing', async () => {
    // Prepare
    const { ingest, events } = setup();
    await ingest({ idempotency: KEY });

    // Act
    const reused = ingest({ idempotency: { key: KEY.key, bodyHash: 'b'.repeat(64) }, drafts: logins(1) });

    // Assess
    await expect(reused).rejects.toBeInstanceOf(ConflictError);
    await expect(reused).rejects.toMatchObject({ field: 'Idempotency-Key' });
    expect(events.all(TENANT)).toHaveLength(3);
  });

  it('answers the first ids when the first attempt stored its events but not its response', async () => {
    // Prepare
    const { events, idempotency } = setup();
    const losingResponses: IdempotencyStore = {
      claim: (tenant, key, bodyHash) => idempotency.claim(tenant, key, bodyHash),
      complete: async () => {
        throw new Error('the process died before storing the response');
      },
    };
    const request = { tenant: TENANT, drafts: logins(3), idempotency: KEY };
    await expect(ingestEvents({ events, idempotency: losingResponses }, request)).rejects.toThrow('died');

    // Act
    const retry = await ingestEvents({ events, idempotency }, request);

    // Assess
    expect(retry).toEqual({ ids: idsOf(events.all(TENANT)), replayed: true });
    expect(events.all(TENANT)).toHaveLength(3);
  });

  it('writes exactly the missing events when a retry follows a partly written request', async () => {
    // Prepare
    const { events, idempotency } = setup();
    const request = { tenant: TENANT, drafts: logins(3), idempotency: KEY };
    const failed = ingestEvents({ events: partlyFailingOnce(events, 1), idempotency }, request);
    await expect(failed).rejects.toBeInstanceOf(TooManyRequestsError);
    const [firstStored] = events.all(TENANT);

    // Act
    const retry = await ingestEvents({ events, idempotency }, request);

    // Assess
    const stored = events.all(TENANT);
    expect(stored.map((record) => record.message)).toEqual(['login 0', 'login 1', 'login 2']);
    expect(retry).toEqual({ ids: idsOf(stored), replayed: true });
    expect(retry.ids[0]).toBe(firstStored?.id);
  });

  it('turns an unclassified store failure (the outcome is unknown) into a 503, keeping the cause', async () => {
    // Prepare
    const { ingest, events } = setup();
    const hangUp = new Error('socket hang up');
    events.failNextAppend(hangUp);
    events.failNextAppend(hangUp);

    // Act
    const withoutKey = ingest();
    const withKey = ingest({ idempotency: KEY });

    // Assess
    for (const failed of [withoutKey, withKey]) {
      await expect(failed).rejects.toBeInstanceOf(ServiceUnavailableError);
      await expect(failed).rejects.toMatchObject({ cause: hangUp });
    }
  });

  it('passes on a failure the store classified, with its own message', async () => {
    // Prepare
    const { ingest, events } = setup();
    const busy = new TooManyRequestsError('The audit store is busy; no entries of this batch were written.');
    events.failNextAppend(busy);

    // Act
    const result = ingest();

    // Assess
    await expect(result).rejects.toBe(busy);
  });

  it('reports a store that returns no id for an event as a broken invariant', async () => {
    // Prepare
    const { events } = setup();
    const forgetful: EventStore = {
      append: async () => [null],
      findDeduplicated: async () => [],
      queryPage: (query) => events.queryPage(query),
      countEntries: (query) => events.countEntries(query),
    };

    // Act
    const result = ingestEvents(
      { events: forgetful, idempotency: new InMemoryIdempotencyStore() },
      { tenant: TENANT, drafts: logins(1) },
    );

    // Assess
    await expect(result).rejects.toBeInstanceOf(InvariantError);
  });

  it('stores the answer under the key so that a retry reads it back (status 201 and the ids)', async () => {
    // Prepare
    const { ingest, idempotency } = setup();

    // Act
    const first = await ingest({ idempotency: KEY });
    const claim = await idempotency.claim(TENANT, KEY.key, KEY.bodyHash);

    // Assess
    expect(claim.response).toEqual({ statusCode: 201, body: { ids: first.ids } });
  });
});
