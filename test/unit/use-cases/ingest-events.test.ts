import { describe, expect, it } from '@jest/globals';
import {
  ConflictError,
  ServiceUnavailableError,
  TooManyRequestsError,
} from '../../../lambdas/domain/errors.js';
import type { EventDraft } from '../../../lambdas/domain/record.js';
import type { AppendOptions } from '../../../lambdas/ports/event-store.js';
import type { IdempotencyStore } from '../../../lambdas/ports/idempotency-store.js';
import {
  type IngestDependencies,
  type IngestRequest,
  ingestEvents,
} from '../../../lambdas/use-cases/ingest-events.js';
import { InMemoryEventStore, inMemoryAuditStore } from '../../fakes/in-memory-audit-store.js';
import { InMemoryIdempotencyStore } from '../../fakes/in-memory-idempotency-store.js';
import { idsOf, logins } from './trail.js';

const TENANT = 'acme';
const KEY = { key: 'order-42', bodyHash: 'a'.repeat(64) };

const setup = () => {
  const { events, counters } = inMemoryAuditStore();
  const idempotency = new InMemoryIdempotencyStore();
  const ingest = (request: Partial<IngestRequest> = {}) =>
    ingestEvents({ events, idempotency }, { tenant: TENANT, drafts: logins(3), ...request });
  return { events, counters, idempotency, ingest };
};

/** An idempotency store that dies before storing a response: the request wrote, but never answered. */
const losingResponses = (idempotency: IdempotencyStore): IdempotencyStore => ({
  claim: (tenant, key, bodyHash, options) => idempotency.claim(tenant, key, bodyHash, options),
  assignIds: (tenant, key, claimId, ids, options) =>
    idempotency.assignIds(tenant, key, claimId, ids, options),
  complete: async () => {
    throw new Error('the process died before storing the response');
  },
});

/** The ids each append of `events` was given, in order. */
const recordingAppends = (events: InMemoryEventStore) => {
  const given: (readonly number[] | undefined)[] = [];
  const store: IngestDependencies['events'] = {
    reserveIds: (drafts) => events.reserveIds(drafts),
    append: (tenant, drafts, options) => {
      given.push(options?.ids);
      return events.append(tenant, drafts, options);
    },
  };
  return { store, given };
};

/** An event store whose next append writes only the first `stored` drafts, then fails as throttled. */
const partlyFailingOnce = (events: InMemoryEventStore, stored: number): IngestDependencies['events'] => {
  let failed = false;
  return {
    reserveIds: (drafts) => events.reserveIds(drafts),
    append: async (tenant: string, drafts: readonly EventDraft[], options?: AppendOptions) => {
      if (failed) return events.append(tenant, drafts, options);
      failed = true;
      await events.append(tenant, drafts.slice(0, stored), {
        ...(options?.ids ? { ids: options.ids.slice(0, stored) } : {}),
      });
      throw new TooManyRequestsError('The audit store is busy: only some events were written');
    },
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

  it('writes the same ids again and answers them when a retry follows a crash between the write and its answer', async () => {
    // Prepare
    const { events, counters, idempotency } = setup();
    const request = { tenant: TENANT, drafts: logins(3), idempotency: KEY };
    await expect(
      ingestEvents({ events, idempotency: losingResponses(idempotency) }, request),
    ).rejects.toThrow('died');
    const written = idsOf(events.all(TENANT));
    const { store, given } = recordingAppends(events);

    // Act
    const retry = await ingestEvents({ events: store, idempotency }, request);

    // Assess
    expect(given).toEqual([written]);
    expect(retry).toEqual({ ids: written, replayed: true });
    expect(events.all(TENANT)).toHaveLength(3);
    expect(await counters.total(TENANT, { kind: 'all' })).toBe(3);
  });

  it('writes exactly the missing events under the recorded ids when a retry follows a partly written request', async () => {
    // Prepare
    const { events, counters, idempotency } = setup();
    const request = { tenant: TENANT, drafts: logins(3), idempotency: KEY };
    const failed = ingestEvents({ events: partlyFailingOnce(events, 1), idempotency }, request);
    await expect(failed).rejects.toBeInstanceOf(TooManyRequestsError);
    const [firstStored] = events.all(TENANT);
    const recorded = (await idempotency.claim(TENANT, KEY.key, KEY.bodyHash)).ids;

    // Act
    const retry = await ingestEvents({ events, idempotency }, request);

    // Assess
    const stored = events.all(TENANT);
    expect(stored.map((record) => record.message)).toEqual(['login 0', 'login 1', 'login 2']);
    expect(retry).toEqual({ ids: recorded, replayed: true });
    expect(retry.ids).toEqual(idsOf(stored));
    expect(retry.ids[0]).toBe(firstStored?.id);
    expect(await counters.total(TENANT, { kind: 'all' })).toBe(3);
  });

  it('gives a concurrent duplicate the ids the first request recorded, storing the events once', async () => {
    // Prepare: both requests claim the key before either has recorded ids.
    const { events, counters, idempotency } = setup();
    let claims = 0;
    let bothClaimed: () => void = () => {};
    const barrier = new Promise<void>((resolve) => {
      bothClaimed = resolve;
    });
    const racing: IdempotencyStore = {
      claim: async (tenant, key, bodyHash, options) => {
        const claim = await idempotency.claim(tenant, key, bodyHash, options);
        claims += 1;
        if (claims === 2) bothClaimed();
        await barrier;
        return claim;
      },
      assignIds: (tenant, key, claimId, ids, options) =>
        idempotency.assignIds(tenant, key, claimId, ids, options),
      complete: (tenant, key, claimId, response) => idempotency.complete(tenant, key, claimId, response),
    };
    const { store, given } = recordingAppends(events);
    const request = { tenant: TENANT, drafts: logins(3), idempotency: KEY };

    // Act
    const [first, duplicate] = await Promise.all([
      ingestEvents({ events: store, idempotency: racing }, request),
      ingestEvents({ events: store, idempotency: racing }, request),
    ]);

    // Assess
    expect(first).toEqual({ ids: idsOf(events.all(TENANT)), replayed: false });
    expect(duplicate).toEqual({ ids: first.ids, replayed: true });
    expect(given).toEqual([first.ids, first.ids]);
    expect(events.all(TENANT)).toHaveLength(3);
    expect(await counters.total(TENANT, { kind: 'all' })).toBe(3);
  });

  it('records the replacement when an id was taken while writing, so a retry writes the replacement', async () => {
    // Prepare: another writer stores an entry under the first (conditional) id before this one writes.
    const { events, idempotency } = setup();
    const other = new InMemoryEventStore(events.tables);
    let reserved: number[] = [];
    const contended: IngestDependencies['events'] = {
      reserveIds: async (drafts) => {
        reserved = await events.reserveIds(drafts);
        await other.append(TENANT, [{ action_type: 'user_logout' }], { ids: reserved.slice(0, 1) });
        return reserved;
      },
      append: (tenant, drafts, options) => events.append(tenant, drafts, options),
    };
    const request = { tenant: TENANT, drafts: logins(3), idempotency: KEY };
    await expect(
      ingestEvents({ events: contended, idempotency: losingResponses(idempotency) }, request),
    ).rejects.toThrow('died');
    const recorded = (await idempotency.claim(TENANT, KEY.key, KEY.bodyHash)).ids;

    // Act
    const retry = await ingestEvents({ events, idempotency }, request);

    // Assess
    expect(recorded?.[0]).not.toBe(reserved[0]);
    expect(recorded?.slice(1)).toEqual(reserved.slice(1));
    expect(retry).toEqual({ ids: recorded, replayed: true });
    expect(
      events
        .all(TENANT)
        .map((record) => record.message ?? record.action_type)
        .sort(),
    ).toEqual(['login 0', 'login 1', 'login 2', 'user_logout']);
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

  it('stores the answer under the key so that a retry reads it back (status 201 and the ids)', async () => {
    // Prepare
    const { ingest, idempotency } = setup();

    // Act
    const first = await ingest({ idempotency: KEY });
    const claim = await idempotency.claim(TENANT, KEY.key, KEY.bodyHash);

    // Assess
    expect(claim.response).toEqual({ statusCode: 201, body: { ids: first.ids } });
    expect(claim.ids).toEqual(first.ids);
  });
});
