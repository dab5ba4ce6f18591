import { describe, expect, it } from '@jest/globals';
import { UnstorableEventError } from '../../lambdas/domain/errors.js';
import { isSlotId } from '../../lambdas/domain/id-slots.js';
import { firstIdAt, lastIdAt, MAX_ID, MAX_ID_TIMESTAMP_MS, timestampOfId } from '../../lambdas/domain/ids.js';
import type { EventDraft } from '../../lambdas/domain/record.js';
import { DAY_MS, dayOf, HOUR_MS, hourOf } from '../../lambdas/domain/time.js';
import type { CounterStore } from '../../lambdas/ports/counter-store.js';
import type { EventStore, PageQuery } from '../../lambdas/ports/event-store.js';
import { freshTenant } from './dynamodb-local.js';

/** An event store and the counter store that reads the counters derived from its entries. */
export interface AuditStores {
  readonly events: EventStore;
  readonly counters: CounterStore;
  /**
   * Resolves once the counters count every entry written before the call (on DynamoDB, once the
   * stream consumer has caught up; the in-memory store counts as it appends).
   */
  caughtUp(): Promise<void>;
}

/** 2026-03-10T00:00:00Z: a UTC midnight, so hours and days below are whole buckets. */
const DAY0 = Date.UTC(2026, 2, 10);
const at = (hours: number, minutes = 0) => DAY0 + hours * HOUR_MS + minutes * 60_000;

const login = (timestamp: number, user = 'ana@example.com'): EventDraft => ({
  timestamp,
  action_type: 'user_login',
  user,
});
const apiCall = (timestamp: number, keyId: string): EventDraft => ({
  timestamp,
  action_type: 'api_request',
  api_key: { id: keyId, name: 'CI key' },
  request: {
    uri: '/api/v1/audit_trail',
    method: 'GET',
    status: 200,
    query_parameters: { 'page[size]': '2' },
  },
});

const page = (tenant: string, overrides: Partial<PageQuery> = {}): PageQuery => ({
  tenant,
  selector: { kind: 'all' },
  minId: 0,
  maxId: MAX_ID,
  newestFirst: false,
  limit: 100,
  ...overrides,
});

/**
 * The behaviour every EventStore (with its CounterStore) must have: run against the in-memory fake
 * and the DynamoDB adapter on DynamoDB Local, so that the fake the use-case specs run on cannot
 * drift from the store they stand in for.
 */
export const describeEventStoreContract = (name: string, stores: () => AuditStores): void => {
  describe(`EventStore contract: ${name}`, () => {
    describe('append', () => {
      it('seals each draft into an entry of the tenant, at its timestamp, with an id of that millisecond', async () => {
        // Prepare
        const { events } = stores();
        const tenant = freshTenant();

        // Act
        const [first, second] = await events.append(tenant, [login(at(1)), login(at(1), 'bob@example.com')]);

        // Assess
        for (const record of [first, second]) {
          expect(record?.tenant).toBe(tenant);
          expect(record?.timestamp).toBe(at(1));
          expect(record?.id).toBeGreaterThanOrEqual(firstIdAt(at(1)));
          expect(record?.id).toBeLessThanOrEqual(lastIdAt(at(1)));
          expect(record?.hash).toMatch(/^[0-9a-f]{64}$/);
        }
        expect(first?.id).not.toBe(second?.id);
        expect(second?.user).toBe('bob@example.com');
      });

      it('returns what a later page reads back, field for field', async () => {
        // Prepare
        const { events } = stores();
        const tenant = freshTenant();
        const draft: EventDraft = {
          ...apiCall(at(2), 'tok_0000000000000001'),
          message: 'listed',
          additional_information: { nested: [1, 'two', { three: null }], empty: '' },
        };

        // Act
        const [written] = await events.append(tenant, [draft]);
        const read = await events.queryPage(page(tenant));

        // Assess
        expect(read.records).toEqual([written]);
      });

      it('refuses a whole batch when one draft cannot be sealed, naming it, and writes none of it', async () => {
        // Prepare
        const { events } = stores();
        const tenant = freshTenant();
        const bad: EventDraft = { ...login(at(3)), additional_information: { text: 'x\uD800y' } };

        // Act
        const append = events.append(tenant, [login(at(3)), bad]);

        // Assess
        await expect(append).rejects.toBeInstanceOf(UnstorableEventError);
        await expect(append).rejects.toMatchObject({ index: 1 });
        expect((await events.queryPage(page(tenant))).records).toEqual([]);
      });

      it('refuses ids that do not match the drafts one for one, writing nothing', async () => {
        // Prepare
        const { events } = stores();
        const tenant = freshTenant();
        const ids = await events.reserveIds([login(at(1)), login(at(1))]);

        // Act
        const append = events.append(tenant, [login(at(1))], { ids });

        // Assess
        await expect(append).rejects.toBeInstanceOf(RangeError);
        expect((await events.queryPage(page(tenant))).records).toEqual([]);
      });

      it('stores drafts under the ids given, at their milliseconds, and stores them once when written again', async () => {
        // Prepare: a retry writes the very same drafts under the very same ids.
        const { events } = stores();
        const tenant = freshTenant();
        const drafts = [login(at(4)), { action_type: 'user_logout', user: 'ana@example.com' }];
        const ids = await events.reserveIds(drafts);
        const first = await events.append(tenant, drafts, { ids });

        // Act
        const again = await events.append(tenant, drafts, { ids });

        // Assess
        expect(first.map((record) => record.id)).toEqual(ids);
        expect(first.map((record) => record.timestamp)).toEqual(ids.map(timestampOfId));
        expect(first[0]?.timestamp).toBe(at(4));
        expect(again).toEqual(first);
        expect((await events.queryPage(page(tenant))).records).toEqual(
          [...first].sort((a, b) => a.id - b.id),
        );
      });

      it('gives an entry a fresh id of the same millisecond when another entry holds the conditional id it was given', async () => {
        // Prepare: a back-dated timestamp is outside any writer's slot, so its id is a candidate.
        const { events } = stores();
        const tenant = freshTenant();
        const [taken] = await events.append(tenant, [login(at(6))]);
        const id = taken?.id as number;

        // Act
        const [moved] = await events.append(tenant, [login(at(6), 'bob@example.com')], { ids: [id] });

        // Assess
        expect(isSlotId(id)).toBe(false);
        expect(moved?.id).not.toBe(id);
        expect(moved?.timestamp).toBe(at(6));
        expect(moved?.id).toBeGreaterThanOrEqual(firstIdAt(at(6)));
        expect(moved?.id).toBeLessThanOrEqual(lastIdAt(at(6)));
        const read = await events.queryPage(page(tenant));
        expect(read.records.map((record) => record.user).sort()).toEqual([
          'ana@example.com',
          'bob@example.com',
        ]);
      });
    });

    describe('reserveIds', () => {
      it('gives every draft a distinct id in its own millisecond, and each draft without one an id of now', async () => {
        // Prepare
        const { events } = stores();
        const sameInstant = Array.from({ length: 6 }, (_, n) => login(at(7), `user-${n}`));
        const unstamped: EventDraft[] = Array.from({ length: 6 }, () => ({ action_type: 'user_login' }));
        const before = Date.now();

        // Act
        const stamped = await events.reserveIds(sameInstant);
        const first = await events.reserveIds(unstamped);
        const second = await events.reserveIds(unstamped);
        const after = Date.now();

        // Assess
        expect(new Set([...stamped, ...first, ...second]).size).toBe(18);
        for (const id of stamped) expect(timestampOfId(id)).toBe(at(7));
        for (const id of [...first, ...second]) {
          // "Now" may move on a few milliseconds when the current one is full.
          expect(timestampOfId(id)).toBeGreaterThanOrEqual(before);
          expect(timestampOfId(id)).toBeLessThanOrEqual(after + 100);
        }
      });

      it('refuses a timestamp outside the range ids can encode', async () => {
        // Prepare
        const { events } = stores();

        // Act
        const reserve = events.reserveIds([login(MAX_ID_TIMESTAMP_MS + 1)]);

        // Assess
        await expect(reserve).rejects.toBeInstanceOf(RangeError);
      });
    });

    describe('queryPage', () => {
      it('reads ids in [minId, maxId] inclusive, in id order or reversed, at most limit, counting what it read', async () => {
        // Prepare
        const { events } = stores();
        const tenant = freshTenant();
        const written = await events.append(
          tenant,
          [0, 1, 2, 3, 4].map((hour) => login(at(hour))),
        );
        const ids = written.map((record) => record?.id as number);

        // Act
        const oldest = await events.queryPage(page(tenant, { minId: ids[1], maxId: ids[3] }));
        const newest = await events.queryPage(page(tenant, { newestFirst: true, limit: 2 }));

        // Assess
        expect(oldest.records.map((record) => record.id)).toEqual([ids[1], ids[2], ids[3]]);
        expect(oldest.itemsRead).toBe(3);
        expect(newest.records.map((record) => record.id)).toEqual([ids[4], ids[3]]);
        expect(newest.itemsRead).toBe(2);
      });

      it('reads nothing for an empty range or a limit below one', async () => {
        // Prepare
        const { events } = stores();
        const tenant = freshTenant();
        await events.append(tenant, [login(at(1))]);

        // Act
        const reversed = await events.queryPage(page(tenant, { minId: 10, maxId: 9 }));
        const none = await events.queryPage(page(tenant, { limit: 0 }));

        // Assess
        expect(reversed.records).toEqual([]);
        expect(none.records).toEqual([]);
      });

      it("never reads another tenant's entries", async () => {
        // Prepare
        const { events } = stores();
        const [one, other] = [freshTenant(), freshTenant()];
        await events.append(one, [login(at(1))]);

        // Act
        const read = await events.queryPage(page(other));

        // Assess
        expect(read.records).toEqual([]);
      });

      it('selects by action type, by actor (user, else API key id), and API calls (all, or one key)', async () => {
        // Prepare
        const { events } = stores();
        const tenant = freshTenant();
        await events.append(tenant, [
          login(at(1), 'ana@example.com'),
          { timestamp: at(2), action_type: 'user_logout', user: 'ana@example.com' },
          login(at(3), 'bob@example.com'),
          apiCall(at(4), 'tok_000000000000000a'),
          apiCall(at(5), 'tok_000000000000000b'),
        ]);
        const actions = async (query: Partial<PageQuery>) =>
          (await events.queryPage(page(tenant, query))).records.map((r) => `${r.action_type}@${r.timestamp}`);

        // Act + Assess
        expect(await actions({ selector: { kind: 'action', action: 'user_login' } })).toEqual([
          `user_login@${at(1)}`,
          `user_login@${at(3)}`,
        ]);
        expect(await actions({ selector: { kind: 'actor', actor: 'ana@example.com' } })).toEqual([
          `user_login@${at(1)}`,
          `user_logout@${at(2)}`,
        ]);
        expect(await actions({ selector: { kind: 'actor', actor: 'tok_000000000000000b' } })).toEqual([
          `api_request@${at(5)}`,
        ]);
        expect(await actions({ selector: { kind: 'apiCalls' } })).toEqual([
          `api_request@${at(4)}`,
          `api_request@${at(5)}`,
        ]);
        expect(await actions({ selector: { kind: 'apiCalls', actor: 'tok_000000000000000a' } })).toEqual([
          `api_request@${at(4)}`,
        ]);
      });
      it("reads one key's API calls from its actor partition: every entry of that actor, with or without a request", async () => {
        // Prepare: what a download records (an api_key, no request, no user) is in the key's partition.
        const { events } = stores();
        const tenant = freshTenant();
        await events.append(tenant, [
          apiCall(at(1), 'tok_000000000000000a'),
          {
            timestamp: at(2),
            action_type: 'audit_trail_downloaded',
            api_key: { id: 'tok_000000000000000a', name: 'K' },
          },
        ]);

        // Act
        const byKey = await events.queryPage(
          page(tenant, { selector: { kind: 'apiCalls', actor: 'tok_000000000000000a' } }),
        );
        const all = await events.queryPage(page(tenant, { selector: { kind: 'apiCalls' } }));

        // Assess
        expect(byKey.records.map((record) => record.action_type)).toEqual([
          'api_request',
          'audit_trail_downloaded',
        ]);
        expect(all.records.map((record) => record.action_type)).toEqual(['api_request']);
      });
    });

    describe('countEntries', () => {
      it('counts a range without a limit, with no last id', async () => {
        // Prepare
        const { events } = stores();
        const tenant = freshTenant();
        await events.append(
          tenant,
          [1, 2, 3].map((hour) => login(at(hour))),
        );

        // Act
        const counted = await events.countEntries({ ...page(tenant), minId: firstIdAt(at(2)) });

        // Assess
        expect(counted).toEqual({ count: 2, lastId: undefined, itemsRead: 2 });
      });

      it('stops at limit and names the last entry counted, from either end', async () => {
        // Prepare
        const { events } = stores();
        const tenant = freshTenant();
        const written = await events.append(
          tenant,
          [1, 2, 3, 4].map((hour) => login(at(hour))),
        );
        const ids = written.map((record) => record?.id as number);

        // Act
        const forwards = await events.countEntries({ ...page(tenant), limit: 2 });
        const backwards = await events.countEntries({ ...page(tenant), newestFirst: true, limit: 3 });

        // Assess
        expect(forwards).toMatchObject({ count: 2, lastId: ids[1] });
        expect(backwards).toMatchObject({ count: 3, lastId: ids[1] });
      });

      it('counts through a selector, and nothing in an empty range', async () => {
        // Prepare
        const { events } = stores();
        const tenant = freshTenant();
        await events.append(tenant, [login(at(1)), apiCall(at(2), 'tok_000000000000000a'), login(at(3))]);

        // Act
        const logins = await events.countEntries({
          ...page(tenant),
          selector: { kind: 'action', action: 'user_login' },
        });
        const empty = await events.countEntries({ ...page(tenant), minId: 5, maxId: 4 });

        // Assess
        expect(logins.count).toBe(2);
        expect(empty).toEqual({ count: 0, lastId: undefined, itemsRead: 0 });
      });
    });

    describe('rollup counters (derived from the entries, once caught up)', () => {
      it('count an entry written again under the same ids (a retry) once', async () => {
        // Prepare
        const { events, counters, caughtUp } = stores();
        const tenant = freshTenant();
        // A back-dated entry (a conditional id) and one of now (a slot id, a plain overwrite).
        const drafts = [login(at(1)), { action_type: 'user_logout' }, login(at(2))];
        const ids = await events.reserveIds(drafts);
        await events.append(tenant, drafts.slice(0, 2), { ids: ids.slice(0, 2) });

        // Act: the retry writes every draft, the first two again.
        await events.append(tenant, drafts, { ids });
        await caughtUp();

        // Assess
        expect(await counters.total(tenant, { kind: 'all' })).toBe(3);
        expect(await counters.total(tenant, { kind: 'action', action: 'user_login' })).toBe(2);
      });

      it('count every entry and every action type all-time, exactly', async () => {
        // Prepare
        const { events, counters, caughtUp } = stores();
        const tenant = freshTenant();

        // Act
        await events.append(tenant, [login(at(1)), login(at(2)), apiCall(at(3), 'tok_000000000000000a')]);
        await events.append(tenant, [login(at(30))]);
        await caughtUp();

        // Assess
        expect(await counters.total(tenant, { kind: 'all' })).toBe(4);
        expect(await counters.total(tenant, { kind: 'action', action: 'user_login' })).toBe(3);
        expect(await counters.total(tenant, { kind: 'action', action: 'never_seen' })).toBe(0);
        expect(await counters.total(freshTenant(), { kind: 'all' })).toBe(0);
      });

      it('count per UTC day and hour, ascending, leaving out empty buckets and those outside the range', async () => {
        // Prepare
        const { events, counters, caughtUp } = stores();
        const tenant = freshTenant();
        const day = dayOf(DAY0);
        const hour = hourOf(DAY0);
        await events.append(tenant, [login(at(0, 5)), login(at(0, 50)), login(at(2)), login(at(49))]);
        await caughtUp();

        // Act
        const days = await counters.bucketCounts(tenant, { kind: 'all' }, 'day', day - 1, day + 1);
        const hours = await counters.bucketCounts(tenant, { kind: 'all' }, 'hour', hour, hour + 24);
        const none = await counters.bucketCounts(tenant, { kind: 'all' }, 'hour', hour + 3, hour + 2);

        // Assess
        expect(days).toEqual([{ bucket: day, count: 3 }]);
        expect(hours).toEqual([
          { bucket: hour, count: 2 },
          { bucket: hour + 2, count: 1 },
        ]);
        expect(none).toEqual([]);
        expect(await counters.bucketCounts(tenant, { kind: 'all' }, 'day', day + 2, day + 2)).toEqual([
          { bucket: dayOf(DAY0 + 2 * DAY_MS), count: 1 },
        ]);
      });

      it('count an actor by the hour only (actors have no all-time or daily counters)', async () => {
        // Prepare
        const { events, counters, caughtUp } = stores();
        const tenant = freshTenant();
        const actor = { kind: 'actor', actor: 'ana@example.com' } as const;
        await events.append(tenant, [login(at(1)), login(at(1, 30)), login(at(2), 'bob@example.com')]);
        await caughtUp();

        // Act
        const hours = await counters.bucketCounts(tenant, actor, 'hour', hourOf(DAY0), hourOf(DAY0) + 23);

        // Assess
        expect(hours).toEqual([{ bucket: hourOf(DAY0) + 1, count: 2 }]);
        expect(await counters.total(tenant, actor)).toBe(0);
        expect(await counters.bucketCounts(tenant, actor, 'day', dayOf(DAY0), dayOf(DAY0))).toEqual([]);
      });
    });
  });
};
