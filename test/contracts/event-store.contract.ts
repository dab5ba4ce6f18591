import { describe, expect, it } from '@jest/globals';
import { UnstorableEventError } from '../../lambdas/domain/errors.js';
import { firstIdAt, lastIdAt, MAX_ID } from '../../lambdas/domain/ids.js';
import type { EventDraft } from '../../lambdas/domain/record.js';
import { DAY_MS, dayOf, HOUR_MS, hourOf } from '../../lambdas/domain/time.js';
import type { CounterStore } from '../../lambdas/ports/counter-store.js';
import type { EventStore, PageQuery } from '../../lambdas/ports/event-store.js';
import { freshTenant } from './dynamodb-local.js';

/** An event store and the counter store that reads the counters its appends write. */
export interface AuditStores {
  readonly events: EventStore;
  readonly counters: CounterStore;
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

      it('refuses dedupe keys that do not match the drafts one for one', async () => {
        // Prepare
        const { events } = stores();

        // Act
        const append = events.append(freshTenant(), [login(at(1))], { dedupeKeys: ['a', 'b'] });

        // Assess
        await expect(append).rejects.toBeInstanceOf(RangeError);
      });

      it('skips a draft whose dedupe key was written before, and remembers the id it was stored under', async () => {
        // Prepare
        const { events } = stores();
        const tenant = freshTenant();
        const [first] = await events.append(tenant, [login(at(4))], { dedupeKeys: ['k1'] });

        // Act
        const again = await events.append(tenant, [login(at(4)), login(at(5))], { dedupeKeys: ['k1', 'k2'] });
        const found = await events.findDeduplicated(tenant, ['k2', 'never', 'k1']);

        // Assess
        expect(again[0]).toBeNull();
        expect(again[1]?.timestamp).toBe(at(5));
        expect(found).toEqual([again[1]?.id, undefined, first?.id]);
        expect((await events.queryPage(page(tenant))).records).toHaveLength(2);
      });

      it("keeps dedupe keys per tenant: another tenant's key does not skip a draft", async () => {
        // Prepare
        const { events } = stores();
        const [one, other] = [freshTenant(), freshTenant()];
        await events.append(one, [login(at(4))], { dedupeKeys: ['shared'] });

        // Act
        const [written] = await events.append(other, [login(at(4))], { dedupeKeys: ['shared'] });

        // Assess
        expect(written).not.toBeNull();
        expect(await events.findDeduplicated(other, ['shared'])).toEqual([written?.id]);
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

    describe('rollup counters (written by append)', () => {
      it('count every entry and every action type all-time, exactly', async () => {
        // Prepare
        const { events, counters } = stores();
        const tenant = freshTenant();

        // Act
        await events.append(tenant, [login(at(1)), login(at(2)), apiCall(at(3), 'tok_000000000000000a')]);
        await events.append(tenant, [login(at(30))]);

        // Assess
        expect(await counters.total(tenant, { kind: 'all' })).toBe(4);
        expect(await counters.total(tenant, { kind: 'action', action: 'user_login' })).toBe(3);
        expect(await counters.total(tenant, { kind: 'action', action: 'never_seen' })).toBe(0);
        expect(await counters.total(freshTenant(), { kind: 'all' })).toBe(0);
      });

      it('count per UTC day and hour, ascending, leaving out empty buckets and those outside the range', async () => {
        // Prepare
        const { events, counters } = stores();
        const tenant = freshTenant();
        const day = dayOf(DAY0);
        const hour = hourOf(DAY0);
        await events.append(tenant, [login(at(0, 5)), login(at(0, 50)), login(at(2)), login(at(49))]);

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
        const { events, counters } = stores();
        const tenant = freshTenant();
        const actor = { kind: 'actor', actor: 'ana@example.com' } as const;
        await events.append(tenant, [login(at(1)), login(at(1, 30)), login(at(2), 'bob@example.com')]);

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
