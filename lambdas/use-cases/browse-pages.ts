import { type CursorState, filterFingerprint, openCursor, sealCursor } from '../domain/cursor.js';
import { MAX_ID } from '../domain/ids.js';
import type { AuditRecord } from '../domain/record.js';
import type { CounterScope } from '../domain/rollups.js';
import type { CounterStore } from '../ports/counter-store.js';
import type { EventStore, PagedSelector } from '../ports/event-store.js';
import { countRange } from './range-counts.js';

/** What browsing needs from the outside world. */
export interface BrowseDependencies {
  readonly events: EventStore;
  readonly counters: CounterStore;
  readonly cursorKey: Uint8Array;
  readonly cursorTtlSeconds: number;
  readonly clock: () => number;
}

/** One request for a numbered page, newest entries first. */
export interface BrowseRequest {
  readonly tenant: string;
  readonly selector: PagedSelector;
  /** Only ids in [minId, maxId] (a date range as a key condition); default: every id. */
  readonly minId?: number;
  readonly maxId?: number;
  /** Page size of a first page (ignored with a cursor, which carries its own). */
  readonly pageSize: number;
  readonly cursor?: string;
  /** Binds cursors to the API that issued them (one dialect's cursor is refused by another). */
  readonly binding: string;
  /** The parameter that carries cursors, named in error messages. */
  readonly cursorField: string;
}

/** A numbered page with cursors to its neighbours (null at either end). */
export interface BrowsePage {
  readonly records: AuditRecord[];
  readonly pageNumber: number;
  readonly pageCount: number;
  readonly next: string | null;
  readonly prev: string | null;
  readonly itemsRead: number;
}

const scopeOf = (selector: PagedSelector): CounterScope => selector;

/**
 * Serves numbered pages of a tenant's entries, newest first. The page count of a first page comes
 * from the rollup counters (one small read, whatever the tenant's size) and travels in the cursor;
 * pages are located by id, so entries written while a client pages never shift the pages it has
 * not seen yet.
 */
export const browsePages = async (deps: BrowseDependencies, request: BrowseRequest): Promise<BrowsePage> => {
  const minId = Math.max(0, request.minId ?? 0);
  const maxId = Math.min(MAX_ID, request.maxId ?? MAX_ID);
  const ranged = minId > 0 || maxId < MAX_ID;
  const filters = filterFingerprint({
    ...selectorFilters(request.selector),
    ...(ranged ? { range: `${minId}-${maxId}` } : {}),
  });
  let state: Pick<CursorState, 'direction' | 'boundaryId' | 'page' | 'pageCount' | 'pageSize'>;
  if (request.cursor !== undefined) {
    state = openCursor(request.cursor, deps.cursorKey, {
      tenant: request.tenant,
      dialect: request.binding,
      filters,
      now: deps.clock(),
      field: request.cursorField,
    });
  } else {
    // Actors have no all-time counter (rollups.ts), so their totals add up their hourly counters.
    const total =
      ranged || request.selector.kind === 'actor'
        ? (await countRange(deps, { tenant: request.tenant, selector: request.selector, minId, maxId })).total
        : await deps.counters.total(request.tenant, scopeOf(request.selector));
    state = {
      direction: 'next',
      boundaryId: maxId + 1,
      page: 1,
      pageCount: Math.max(1, Math.ceil(total / request.pageSize)),
      pageSize: request.pageSize,
    };
  }
  const towardsOlder = state.direction === 'next';
  const result = await deps.events.queryPage({
    tenant: request.tenant,
    selector: request.selector,
    minId: towardsOlder ? minId : state.boundaryId + 1,
    maxId: towardsOlder ? state.boundaryId - 1 : maxId,
    newestFirst: towardsOlder,
    limit: state.pageSize,
  });
  const records = towardsOlder ? result.records : result.records.reverse();
  const seal = (direction: 'next' | 'prev', boundaryId: number, page: number) =>
    sealCursor(
      {
        tenant: request.tenant,
        dialect: request.binding,
        filters,
        direction,
        boundaryId,
        page,
        pageCount: state.pageCount,
        pageSize: state.pageSize,
        expiresAt: deps.clock() + deps.cursorTtlSeconds * 1000,
      },
      deps.cursorKey,
    );
  const first = records[0];
  const last = records[records.length - 1];
  let itemsRead = result.itemsRead;
  let hasOlder = last !== undefined && records.length === state.pageSize && state.page < state.pageCount;
  if (last !== undefined && records.length === state.pageSize && towardsOlder && !hasOlder) {
    // A full page the counters call the last: they are derived behind the write path and may not
    // count the newest entries yet, so look for one older entry instead of ending the walk early.
    const older = await deps.events.queryPage({
      tenant: request.tenant,
      selector: request.selector,
      minId,
      maxId: last.id - 1,
      newestFirst: true,
      limit: 1,
    });
    itemsRead += older.itemsRead;
    if (older.records.length > 0) {
      hasOlder = true;
      state = { ...state, pageCount: state.page + 1 };
    }
  }
  return {
    records,
    pageNumber: state.page,
    pageCount: state.pageCount,
    next: hasOlder && last !== undefined ? seal('next', last.id, state.page + 1) : null,
    prev: first !== undefined && state.page > 1 ? seal('prev', first.id, state.page - 1) : null,
    itemsRead,
  };
};

const selectorFilters = (selector: PagedSelector): Record<string, string> => {
  switch (selector.kind) {
    case 'all':
      return {};
    case 'action':
      return { action: selector.action };
    case 'actor':
      return { actor: selector.actor };
  }
};
