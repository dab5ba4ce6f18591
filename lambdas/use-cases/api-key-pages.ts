import { filterFingerprint, openCursor, sealCursor } from '../domain/cursor.js';
import type { AuditRecord } from '../domain/record.js';
import type { EntrySelector, EventStore } from '../ports/event-store.js';

/** What api-key paging needs. */
export interface ApiKeyPageDependencies {
  readonly events: EventStore;
  readonly cursorKey: Uint8Array;
  readonly cursorTtlSeconds: number;
  readonly clock: () => number;
}

/** One api-key page request: ids in [minId, maxId] through `selector`, oldest first. */
export interface ApiKeyPageRequest {
  readonly tenant: string;
  readonly selector: EntrySelector;
  readonly minId: number;
  readonly maxId: number;
  readonly pageSize: number;
  readonly cursor?: string;
  /** The filters as asked, bound into cursors so a cursor only continues the listing it came from. */
  readonly filters: Readonly<Record<string, string | undefined>>;
}

/** A page and the cursor of the next one (null on the last page). */
export interface ApiKeyPage {
  readonly records: AuditRecord[];
  readonly next: string | null;
  readonly itemsRead: number;
}

const BINDING = 'apiKey';
const CURSOR_FIELD = 'page[cursor]';

/**
 * Pages through a tenant's entries oldest first, by id: a cursor carries the last id served, so
 * entries written meanwhile never shift pages. One read past the page tells whether a next page
 * exists, so the last page's `next` is null.
 */
export const apiKeyPage = async (
  deps: ApiKeyPageDependencies,
  request: ApiKeyPageRequest,
): Promise<ApiKeyPage> => {
  const filters = filterFingerprint(request.filters);
  let after = request.minId - 1;
  let page = 1;
  if (request.cursor !== undefined) {
    const state = openCursor(request.cursor, deps.cursorKey, {
      tenant: request.tenant,
      dialect: BINDING,
      filters,
      now: deps.clock(),
      field: CURSOR_FIELD,
    });
    after = Math.max(after, state.boundaryId);
    page = state.page;
  }
  const result = await deps.events.queryPage({
    tenant: request.tenant,
    selector: request.selector,
    minId: after + 1,
    maxId: request.maxId,
    newestFirst: false,
    limit: request.pageSize + 1,
  });
  const records = result.records.slice(0, request.pageSize);
  const last = records[records.length - 1];
  const next =
    result.records.length > request.pageSize && last
      ? sealCursor(
          {
            tenant: request.tenant,
            dialect: BINDING,
            filters,
            direction: 'next',
            boundaryId: last.id,
            page: page + 1,
            pageCount: 0,
            pageSize: request.pageSize,
            expiresAt: deps.clock() + deps.cursorTtlSeconds * 1000,
          },
          deps.cursorKey,
        )
      : null;
  return { records, next, itemsRead: result.itemsRead };
};
