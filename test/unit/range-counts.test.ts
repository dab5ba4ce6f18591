import { describe, expect, it } from '@jest/globals';
import { idFor, MAX_ID, timestampOfId } from '../../lambdas/domain/ids.js';
import { dayOf, HOUR_MS, hourOf } from '../../lambdas/domain/time.js';
import type { CounterStore } from '../../lambdas/ports/counter-store.js';
import type { CountQuery, EventStore } from '../../lambdas/ports/event-store.js';
import { countRange, locateOffset } from '../../lambdas/use-cases/range-counts.js';
import { seededRandom } from '../../local/demo-data.js';

/** In-memory stores over sorted ids: counters from the ids, counting by walking them. */
const storesOver = (ids: number[]) => {
  let itemsRead = 0;
  const inRange = (query: Pick<CountQuery, 'minId' | 'maxId' | 'newestFirst'>) => {
    const selected = ids.filter((id) => id >= query.minId && id <= query.maxId);
    return query.newestFirst ? selected.reverse() : selected;
  };
  const events = {
    countEntries: async (query: CountQuery) => {
      const selected = inRange(query);
      const counted = query.limit === undefined ? selected : selected.slice(0, query.limit);
      itemsRead += counted.length;
      const hitLimit = query.limit !== undefined && counted.length === query.limit;
      return {
        count: counted.length,
        lastId: hitLimit ? counted[counted.length - 1] : undefined,
        itemsRead: counted.length,
      };
    },
  } as unknown as EventStore;
  const counters: CounterStore = {
    total: async () => ids.length,
    bucketCounts: async (_tenant, _scope, unit, first, last) => {
      const counts = new Map<number, number>();
      for (const id of ids) {
        const time = timestampOfId(id);
        const bucket = unit === 'day' ? dayOf(time) : hourOf(time);
        if (bucket >= first && bucket <= last) counts.set(bucket, (counts.get(bucket) ?? 0) + 1);
      }
      return [...counts].sort(([a], [b]) => a - b).map(([bucket, count]) => ({ bucket, count }));
    },
  };
  return { deps: { events, counters }, read: () => itemsRead };
};

const idsOver = (count: number, start: number, spanMs: number, seed: number): number[] => {
  const random = seededRandom(seed);
  const ids = new Set<number>();
  while (ids.size < count) ids.add(idFor(start + Math.floor(random() * spanMs), Math.floor(random() * 4)));
  return [...ids].sort((a, b) => a - b);
};

describe('countRange and locateOffset', () => {
  const start = Date.UTC(2024, 2, 1, 5, 30);
  const ids = idsOver(400, start, 3 * 24 * HOUR_MS, 1);
  const tenant = 't';
  const selector = { kind: 'all' } as const;

  it('counts any range exactly, edges in the middle of hours included', async () => {
    const random = seededRandom(2);
    for (let round = 0; round < 40; round += 1) {
      // Prepare
      const [a, b] = [Math.floor(random() * ids.length), Math.floor(random() * ids.length)].sort(
        (x, y) => x - y,
      );
      const minId = (ids[a ?? 0] ?? 0) + (round % 2);
      const maxId = (ids[b ?? 0] ?? 0) - (round % 3 === 0 ? 1 : 0);
      const { deps } = storesOver(ids);

      // Act
      const counted = await countRange(deps, { tenant, selector, minId, maxId });

      // Assess
      expect(counted.total).toBe(ids.filter((id) => id >= minId && id <= maxId).length);
    }
  });

  it('finds the first entry of every offset of the whole trail, reading at most half an hour of entries', async () => {
    // Prepare
    const range = { tenant, selector, minId: 0, maxId: MAX_ID };
    const { deps } = storesOver(ids);
    const { segments } = await countRange(deps, range);
    const perHour = new Map<number, number>();
    for (const id of ids)
      perHour.set(hourOf(timestampOfId(id)), (perHour.get(hourOf(timestampOfId(id))) ?? 0) + 1);
    const busiestHour = Math.max(...perHour.values());

    for (let skip = 0; skip <= ids.length; skip += 1) {
      // Act
      const located = await locateOffset(deps, range, segments, skip);

      // Assess
      const first = ids.find((id) => id >= located.startId);
      expect(first).toBe(ids[skip]);
      expect(located.itemsRead).toBeLessThanOrEqual(Math.ceil(busiestHour / 2));
    }
  });

  it('finds offsets inside a range whose edges cut hours', async () => {
    // Prepare
    const minId = (ids[37] ?? 0) + 1;
    const maxId = (ids[351] ?? 0) - 1;
    const inside = ids.filter((id) => id >= minId && id <= maxId);
    const range = { tenant, selector, minId, maxId };
    const { deps } = storesOver(ids);
    const { segments, total } = await countRange(deps, range);

    // Act & Assess
    expect(total).toBe(inside.length);
    for (let skip = 0; skip < inside.length; skip += 7) {
      const located = await locateOffset(deps, range, segments, skip);
      expect(inside.find((id) => id >= located.startId)).toBe(inside[skip]);
    }
  });
});
