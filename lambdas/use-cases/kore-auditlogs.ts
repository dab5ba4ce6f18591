import { MAX_ID } from '../domain/ids.js';
import type { AuditRecord } from '../domain/record.js';
import type { PagedSelector } from '../ports/event-store.js';
import { countRange, locateOffset, type RangeDependencies } from './range-counts.js';

/** One kore page request: ids in [minId, maxId], oldest first, page `offset` of `size` entries. */
export interface KorePageRequest {
  readonly tenant: string;
  /** Whose entries: the whole tenant (default) or one actor (a narrowed token). */
  readonly selector?: PagedSelector;
  readonly minId: number;
  readonly maxId: number;
  readonly size: number;
  readonly offset: number;
}

/** A kore page: the entries, the exact number in the whole range, whether more follow. */
export interface KorePage {
  readonly records: AuditRecord[];
  readonly total: number;
  readonly moreAvailable: boolean;
  /** Entries the store read to serve the page (counting included), for read-amplification checks. */
  readonly itemsRead: number;
}

/**
 * Serves a kore page, oldest entries first (seed 002 lists them so, and `fetchAfter` reads
 * forwards). `total` is exact from the rollup counters; page `offset` starts `offset × size`
 * entries into the range, located through the counters instead of reading the entries before it.
 */
export const koreAuditLogs = async (deps: RangeDependencies, request: KorePageRequest): Promise<KorePage> => {
  const selector = request.selector ?? ({ kind: 'all' } as const);
  const range = {
    tenant: request.tenant,
    selector,
    minId: request.minId,
    maxId: request.maxId,
  };
  const skip = request.offset * request.size;
  let total: number;
  let itemsRead = 0;
  let startId = request.minId;
  // (Actors have no all-time counter: their totals add up hourly counters through countRange.)
  if (request.minId <= 0 && request.maxId >= MAX_ID && skip === 0 && selector.kind !== 'actor') {
    // The whole trail from its start: one all-time counter read.
    total = await deps.counters.total(request.tenant, { kind: 'all' });
  } else {
    const counted = await countRange(deps, range);
    total = counted.total;
    itemsRead += counted.itemsRead;
    if (skip >= total) return { records: [], total, moreAvailable: false, itemsRead };
    if (skip > 0) {
      const located = await locateOffset(deps, range, counted.segments, skip);
      startId = located.startId;
      itemsRead += located.itemsRead;
    }
  }
  const page = await deps.events.queryPage({
    tenant: request.tenant,
    selector,
    minId: startId,
    maxId: request.maxId,
    newestFirst: false,
    limit: request.size,
  });
  itemsRead += page.itemsRead;
  return {
    records: page.records,
    total,
    moreAvailable: skip + page.records.length < total,
    itemsRead,
  };
};
