import { describe, expect, it } from '@jest/globals';
import { BadRequestError } from '../../../lambdas/domain/errors.js';
import { firstIdAt, lastIdAt } from '../../../lambdas/domain/ids.js';
import {
  type BrowseDependencies,
  type BrowseRequest,
  browsePages,
} from '../../../lambdas/use-cases/browse-pages.js';
import { hoursAfter, idsOf, logins, newCursorKey, newestFirst, testClock, trailOf } from './trail.js';

const TENANT = 'acme';

const setup = async (drafts = logins(7)) => {
  const trail = await trailOf(TENANT, drafts);
  const time = testClock();
  const deps: BrowseDependencies = {
    events: trail.events,
    counters: trail.counters,
    cursorKey: newCursorKey(),
    cursorTtlSeconds: 600,
    clock: time.clock,
  };
  const browse = (request: Partial<BrowseRequest> = {}) =>
    browsePages(deps, {
      tenant: TENANT,
      selector: { kind: 'all' },
      pageSize: 3,
      binding: 'canary',
      cursorField: 'cursor',
      ...request,
    });
  return { ...trail, ...time, deps, browse };
};

describe('browsePages (numbered pages, newest first)', () => {
  it('serves the newest entries on page 1 of a page count taken from the rollup counters', async () => {
    // Prepare
    const { browse, records, events } = await setup();

    // Act
    const page = await browse();

    // Assess
    expect(idsOf(page.records)).toEqual(newestFirst(records).slice(0, 3));
    expect(page).toMatchObject({ pageNumber: 1, pageCount: 3, prev: null, itemsRead: 3 });
    expect(page.next).toEqual(expect.any(String));
    expect(events.countQueries).toEqual([]);
  });

  it('walks past the page count while the counters lag behind the entries, ending only where the entries end', async () => {
    // Prepare: 7 entries, but the counters (derived behind the write path) count 3 so far.
    const { deps, records } = await setup();
    const lagging: BrowseDependencies = {
      ...deps,
      counters: { total: async () => 3, bucketCounts: deps.counters.bucketCounts.bind(deps.counters) },
    };
    const browse = (cursor?: string) =>
      browsePages(lagging, {
        tenant: TENANT,
        selector: { kind: 'all' },
        pageSize: 3,
        binding: 'canary',
        cursorField: 'cursor',
        ...(cursor !== undefined ? { cursor } : {}),
      });

    // Act
    const first = await browse();
    const second = await browse(first.next as string);
    const third = await browse(second.next as string);

    // Assess
    expect(first.pageCount).toBe(2);
    expect(second.pageCount).toBe(3);
    expect(third).toMatchObject({ pageNumber: 3, next: null });
    expect([...idsOf(first.records), ...idsOf(second.records), ...idsOf(third.records)]).toEqual(
      newestFirst(records),
    );
  });

  it('walks every entry exactly once through next cursors, and back through prev cursors', async () => {
    // Prepare
    const { browse, records } = await setup();

    // Act
    const first = await browse();
    const second = await browse({ cursor: first.next as string });
    const third = await browse({ cursor: second.next as string });
    const back = await browse({ cursor: third.prev as string });

    // Assess
    expect([...idsOf(first.records), ...idsOf(second.records), ...idsOf(third.records)]).toEqual(
      newestFirst(records),
    );
    expect([second.pageNumber, third.pageNumber, back.pageNumber]).toEqual([2, 3, 2]);
    expect(third.next).toBeNull();
    expect(idsOf(back.records)).toEqual(idsOf(second.records));
  });

  it('answers one empty page without cursors for an empty trail', async () => {
    // Prepare
    const { browse } = await setup([]);

    // Act
    const page = await browse();

    // Assess
    expect(page).toEqual({ records: [], pageNumber: 1, pageCount: 1, next: null, prev: null, itemsRead: 0 });
  });

  it('keeps the pages a client has not seen yet when entries are written while it pages', async () => {
    // Prepare
    const { browse, events } = await setup();
    const first = await browse();
    const expected = await browse({ cursor: first.next as string });

    // Act
    await events.append(TENANT, logins(4, hoursAfter(5)));
    const second = await browse({ cursor: first.next as string });

    // Assess
    expect(idsOf(second.records)).toEqual(idsOf(expected.records));
    expect(second.pageCount).toBe(3);
  });

  it('pages through one action type, counted by its own counter', async () => {
    // Prepare
    const { browse, records } = await setup([
      ...logins(4),
      { timestamp: hoursAfter(3), action_type: 'user_logout', user: 'ana@example.com' },
      { timestamp: hoursAfter(4), action_type: 'user_logout', user: 'bob@example.com' },
    ]);

    // Act
    const page = await browse({ selector: { kind: 'action', action: 'user_logout' } });

    // Assess
    expect(idsOf(page.records)).toEqual(newestFirst(records.filter((r) => r.action_type === 'user_logout')));
    expect(page).toMatchObject({ pageCount: 1, next: null });
  });

  it("pages through one actor's entries, counting them from the hourly counters", async () => {
    // Prepare
    const { browse, records } = await setup(logins(8, hoursAfter(1), ['ana@example.com', 'bob@example.com']));
    const bobs = newestFirst(records.filter((record) => record.user === 'bob@example.com'));

    // Act
    const first = await browse({ selector: { kind: 'actor', actor: 'bob@example.com' } });
    const second = await browse({
      selector: { kind: 'actor', actor: 'bob@example.com' },
      cursor: first.next as string,
    });

    // Assess
    expect(first.pageCount).toBe(2);
    expect([...idsOf(first.records), ...idsOf(second.records)]).toEqual(bobs);
  });

  it('limits pages to a date range given as ids, counting only the range', async () => {
    // Prepare
    const { browse, records } = await setup([...logins(3, hoursAfter(1)), ...logins(2, hoursAfter(30))]);
    const minId = firstIdAt(hoursAfter(24));
    const maxId = lastIdAt(hoursAfter(48));

    // Act
    const page = await browse({ minId, maxId });

    // Assess
    expect(idsOf(page.records)).toEqual(newestFirst(records).slice(0, 2));
    expect(page).toMatchObject({ pageCount: 1, next: null });
  });

  it('refuses a cursor used with other filters, naming the cursor parameter', async () => {
    // Prepare
    const { browse } = await setup();
    const first = await browse();

    // Act
    const reused = browse({
      cursor: first.next as string,
      selector: { kind: 'action', action: 'user_login' },
    });

    // Assess
    await expect(reused).rejects.toBeInstanceOf(BadRequestError);
    await expect(reused).rejects.toMatchObject({ field: 'cursor' });
  });

  it('refuses a cursor issued for another dialect or another tenant', async () => {
    // Prepare
    const { browse, deps } = await setup();
    const first = await browse();

    // Act
    const otherDialect = browse({ cursor: first.next as string, binding: 'kore' });
    const otherTenant = browsePages(deps, {
      tenant: 'globex',
      selector: { kind: 'all' },
      pageSize: 3,
      binding: 'canary',
      cursorField: 'cursor',
      cursor: first.next as string,
    });

    // Assess
    await expect(otherDialect).rejects.toBeInstanceOf(BadRequestError);
    await expect(otherTenant).rejects.toBeInstanceOf(BadRequestError);
  });

  it('refuses a cursor once its lifetime is over', async () => {
    // Prepare
    const { browse, advance } = await setup();
    const first = await browse();

    // Act
    advance(601_000);
    const late = browse({ cursor: first.next as string });

    // Assess
    await expect(late).rejects.toBeInstanceOf(BadRequestError);
  });
});
