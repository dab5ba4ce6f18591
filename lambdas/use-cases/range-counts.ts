import { firstIdAt, lastIdAt, MAX_ID, timestampOfId } from '../domain/ids.js';
import type { CounterScope } from '../domain/rollups.js';
import { HOUR_MS, hourOf } from '../domain/time.js';
import type { CounterStore } from '../ports/counter-store.js';
import type { EventStore, PagedSelector } from '../ports/event-store.js';

/** What counting a range needs. */
export interface RangeDependencies {
  readonly events: EventStore;
  readonly counters: CounterStore;
}

/** A tenant's entries with ids in [minId, maxId], through one selector the counters count. */
export interface IdRange {
  readonly tenant: string;
  readonly selector: PagedSelector;
  readonly minId: number;
  readonly maxId: number;
}

/** A stretch of the range with an exact count: a whole UTC day or hour, or a counted part of an hour. */
export interface Segment {
  readonly unit: 'day' | 'hour' | 'exact';
  readonly minId: number;
  readonly maxId: number;
  readonly count: number;
}

/** The range cut into counted segments, oldest first, and what counting them read. */
export interface RangeCount {
  readonly total: number;
  readonly segments: Segment[];
  /** Entries read to count the partial hours at the edges (the rest came from rollup counters). */
  readonly itemsRead: number;
}

const hourIds = (hour: number) => ({
  minId: firstIdAt(hour * HOUR_MS),
  maxId: lastIdAt(hour * HOUR_MS + HOUR_MS - 1),
});

/**
 * Counts a range exactly from the rollup counters: whole days from the daily counters, whole hours
 * from the hourly ones, and only the partial hours at the two edges by counting entries. The cost
 * depends on the span of the range, never on how many entries it holds.
 */
export const countRange = async (deps: RangeDependencies, range: IdRange): Promise<RangeCount> => {
  const { tenant, selector } = range;
  const minId = Math.max(0, range.minId);
  const maxId = Math.min(MAX_ID, range.maxId);
  if (minId > maxId) return { total: 0, segments: [], itemsRead: 0 };
  const scope: CounterScope = selector;
  const exact = async (from: number, to: number): Promise<{ segment: Segment; itemsRead: number }> => {
    const counted = await deps.events.countEntries({
      tenant,
      selector,
      minId: from,
      maxId: to,
      newestFirst: false,
    });
    return {
      segment: { unit: 'exact', minId: from, maxId: to, count: counted.count },
      itemsRead: counted.itemsRead,
    };
  };
  const firstHour = hourOf(timestampOfId(minId));
  const lastHour = hourOf(timestampOfId(maxId));
  if (firstHour === lastHour) {
    const { segment, itemsRead } = await exact(minId, maxId);
    return { total: segment.count, segments: segment.count > 0 ? [segment] : [], itemsRead };
  }
  const head: Segment[] = [];
  const tail: Segment[] = [];
  let itemsRead = 0;
  let fromHour = firstHour;
  let toHour = lastHour;
  if (minId > hourIds(firstHour).minId) {
    const counted = await exact(minId, hourIds(firstHour).maxId);
    head.push(counted.segment);
    itemsRead += counted.itemsRead;
    fromHour += 1;
  }
  if (maxId < hourIds(lastHour).maxId) {
    const counted = await exact(hourIds(lastHour).minId, maxId);
    tail.push(counted.segment);
    itemsRead += counted.itemsRead;
    toHour -= 1;
  }
  const middle: Segment[] = [];
  if (fromHour <= toHour) {
    // Whole days inside [fromHour, toHour] come from the daily counters, the hours around them from the hourly.
    const firstDay = Math.ceil(fromHour / 24);
    const lastDay = Math.floor((toHour + 1) / 24) - 1;
    const hours = (from: number, to: number) =>
      deps.counters
        .bucketCounts(tenant, scope, 'hour', from, to)
        .then((counts) =>
          counts.map(({ bucket, count }): Segment => ({ unit: 'hour', ...hourIds(bucket), count })),
        );
    // Actors have hourly counters only (rollups.ts): their ranges are counted by the hour.
    if (firstDay <= lastDay && scope.kind !== 'actor') {
      const [before, days, after] = await Promise.all([
        hours(fromHour, firstDay * 24 - 1),
        deps.counters.bucketCounts(tenant, scope, 'day', firstDay, lastDay),
        hours((lastDay + 1) * 24, toHour),
      ]);
      middle.push(
        ...before,
        ...days.map(
          ({ bucket, count }): Segment => ({
            unit: 'day',
            minId: hourIds(bucket * 24).minId,
            maxId: hourIds(bucket * 24 + 23).maxId,
            count,
          }),
        ),
        ...after,
      );
    } else {
      middle.push(...(await hours(fromHour, toHour)));
    }
  }
  const segments = [...head, ...middle, ...tail].filter((segment) => segment.count > 0);
  return { total: segments.reduce((sum, segment) => sum + segment.count, 0), segments, itemsRead };
};

/**
 * The id to start reading at so that `skip` entries of the counted range come before it. Whole
 * segments are skipped by their counts; a day is opened into its hourly counters; inside the one
 * hour that holds the position, entries are counted (not returned) from whichever end of the hour
 * is nearer, so at most half an hour's entries are read.
 */
export const locateOffset = async (
  deps: RangeDependencies,
  range: IdRange,
  segments: readonly Segment[],
  skip: number,
): Promise<{ startId: number; itemsRead: number }> => {
  let remaining = skip;
  for (const segment of segments) {
    if (remaining >= segment.count) {
      remaining -= segment.count;
      continue;
    }
    if (segment.unit === 'day') {
      const firstHour = hourOf(timestampOfId(segment.minId));
      const hours = await deps.counters.bucketCounts(
        range.tenant,
        range.selector,
        'hour',
        firstHour,
        firstHour + 23,
      );
      return locateOffset(
        deps,
        range,
        hours.map(({ bucket, count }) => ({ unit: 'hour', ...hourIds(bucket), count })),
        remaining,
      );
    }
    if (remaining === 0) return { startId: segment.minId, itemsRead: 0 };
    const fromStart = remaining <= segment.count - remaining;
    const counted = await deps.events.countEntries({
      tenant: range.tenant,
      selector: range.selector,
      minId: segment.minId,
      maxId: segment.maxId,
      newestFirst: !fromStart,
      limit: fromStart ? remaining : segment.count - remaining,
    });
    // Counting forwards stops on the last entry to skip; backwards, on the first entry to return.
    const startId =
      counted.lastId === undefined ? segment.maxId + 1 : fromStart ? counted.lastId + 1 : counted.lastId;
    return { startId, itemsRead: counted.itemsRead };
  }
  return { startId: range.maxId + 1, itemsRead: 0 };
};
