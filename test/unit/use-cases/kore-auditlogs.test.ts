import { describe, expect, it } from '@jest/globals';
import { firstIdAt, lastIdAt, MAX_ID } from '../../../lambdas/domain/ids.js';
import type { EventDraft } from '../../../lambdas/domain/record.js';
import { type KorePageRequest, koreAuditLogs } from '../../../lambdas/use-cases/kore-auditlogs.js';
import { hoursAfter, idsOf, logins, oldestFirst, trailOf } from './trail.js';

const TENANT = 'acme';

/**
 * A trail over four UTC days with uneven hours: 3 entries at 01:00–01:02 of day 0, 5 in hour 7,
 * 12 spread over day 1, 4 in the first minutes of day 3 (day 2 is empty), two users alternating.
 */
const unevenTrail = (): EventDraft[] => [
  ...logins(3, hoursAfter(1)),
  ...logins(5, hoursAfter(7, 10), ['ana@example.com', 'bob@example.com']),
  ...Array.from(
    { length: 12 },
    (_, n) => logins(1, hoursAfter(24 + n * 2, 5), ['bob@example.com'])[0] as EventDraft,
  ),
  ...logins(4, hoursAfter(72), ['ana@example.com', 'bob@example.com']),
];

const setup = async (drafts: readonly EventDraft[] = unevenTrail()) => {
  const trail = await trailOf(TENANT, drafts);
  const page = (request: Partial<KorePageRequest> = {}) =>
    koreAuditLogs(trail, { tenant: TENANT, minId: 0, maxId: MAX_ID, size: 5, offset: 0, ...request });
  return { ...trail, page };
};

describe('koreAuditLogs (offset pages, oldest first, exact totals)', () => {
  it('serves the first page of the whole trail with its exact total, reading only the page', async () => {
    // Prepare
    const { page, records, events } = await setup();

    // Act
    const first = await page();

    // Assess
    expect(idsOf(first.records)).toEqual(oldestFirst(records).slice(0, 5));
    expect(first).toMatchObject({ total: 24, moreAvailable: true, itemsRead: 5 });
    expect(events.countQueries).toEqual([]);
  });

  it('tiles the trail with its offset pages: every entry once, in order, the last page saying no more', async () => {
    // Prepare
    const { page, records } = await setup();

    // Act
    const pages = [];
    for (let offset = 0; offset < 5; offset += 1) pages.push(await page({ offset }));

    // Assess
    expect(pages.flatMap((served) => idsOf(served.records))).toEqual(oldestFirst(records));
    expect(pages.map((served) => served.moreAvailable)).toEqual([true, true, true, true, false]);
    expect(new Set(pages.map((served) => served.total))).toEqual(new Set([24]));
  });

  it('finds a deep page through the counters, reading fewer entries than it skips', async () => {
    // Prepare
    const { page, records } = await setup();

    // Act
    const deep = await page({ offset: 4, size: 4 });

    // Assess
    expect(idsOf(deep.records)).toEqual(oldestFirst(records).slice(16, 20));
    expect(deep.itemsRead).toBeLessThan(16);
  });

  it('counts and pages a range whose edges cut through hours, for every page size', async () => {
    // Prepare
    const { page, records } = await setup();
    const minId = firstIdAt(hoursAfter(1, 1));
    const maxId = lastIdAt(hoursAfter(72, 2));
    const inRange = oldestFirst(records).filter((id) => id >= minId && id <= maxId);

    for (const size of [1, 2, 3, 7]) {
      // Act
      const served: number[] = [];
      let total = -1;
      for (let offset = 0; offset * size < inRange.length; offset += 1) {
        const result = await page({ minId, maxId, size, offset });
        served.push(...idsOf(result.records));
        total = result.total;
      }

      // Assess
      expect({ size, served, total }).toEqual({ size, served: inRange, total: inRange.length });
    }
  });

  it('answers an empty page past the end, with the total and no more available', async () => {
    // Prepare
    const { page } = await setup();

    // Act
    const past = await page({ offset: 10 });

    // Assess
    expect(past).toMatchObject({ records: [], total: 24, moreAvailable: false });
  });

  it("serves only one actor's entries, totalled from that actor's counters", async () => {
    // Prepare
    const { page, records } = await setup();
    const anas = oldestFirst(records.filter((record) => record.user === 'ana@example.com'));

    // Act
    const first = await page({ selector: { kind: 'actor', actor: 'ana@example.com' }, size: 4 });
    const second = await page({ selector: { kind: 'actor', actor: 'ana@example.com' }, size: 4, offset: 1 });

    // Assess
    expect(first.total).toBe(anas.length);
    expect([...idsOf(first.records), ...idsOf(second.records)]).toEqual(anas);
    expect(second.moreAvailable).toBe(false);
  });
});
