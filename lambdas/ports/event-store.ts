import type { AuditRecord, EventDraft } from '../domain/record.js';

/** Selectors the rollup counters count exactly (totals and deep pages rest on them). */
export type CountedSelector = { readonly kind: 'all' } | { readonly kind: 'action'; readonly action: string };

/**
 * Which of a tenant's entries a query reads; each is a key condition, never a filter. `apiCalls`
 * reads only the entries that record an API call (those with `request`), of one of this service's
 * API keys when given (the actor index, whose partitions of such ids hold API calls only): the
 * api-key dialect's entries.
 */
export type EntrySelector =
  | CountedSelector
  | ActorSelector
  | { readonly kind: 'apiCalls'; readonly actor?: string };

/** Every entry of one actor (its `user`, else its API key id): the actor index, counted by the hour. */
export type ActorSelector = { readonly kind: 'actor'; readonly actor: string };

/** What canary and kore pages select: counted selectors and one actor's entries. */
export type PagedSelector = CountedSelector | ActorSelector;

/** A page query: ids within [minId, maxId] (inclusive), in id order or reverse, at most `limit`. */
export interface PageQuery {
  readonly tenant: string;
  readonly selector: EntrySelector;
  readonly minId: number;
  readonly maxId: number;
  readonly newestFirst: boolean;
  readonly limit: number;
  /**
   * Read what every earlier write left (strongly consistent; selector `all` only): what a purge
   * resuming after a crash reads, so it never sees entries it already deleted.
   */
  readonly consistent?: boolean;
  /**
   * A hot tenant's page resumes each write shard where the previous page left it (from a cursor;
   * lambdas/domain/hot-shards.ts). Absent: every shard starts at the range's start.
   */
  readonly shardPositions?: readonly (number | undefined)[];
}

/** What a page query returned, with how many items the store read to serve it. */
export interface PageResult {
  readonly records: AuditRecord[];
  /** Where each write shard resumes after this page, when the page merged more than one. */
  readonly shardPositions?: (number | undefined)[];
  /** Items the store examined (DynamoDB ScannedCount), for read-amplification checks. */
  readonly itemsRead: number;
  /** Read capacity units consumed. */
  readonly capacityUnits: number;
}

/** A count query: like a page query, but only counting (at most `limit`, when given). */
export interface CountQuery extends Omit<PageQuery, 'limit' | 'consistent'> {
  readonly limit?: number;
}

/** What a count query found. */
export interface CountResult {
  readonly count: number;
  /** The id of the last entry counted when the count stopped at `limit`; undefined otherwise. */
  readonly lastId: number | undefined;
  /** Items the store examined. */
  readonly itemsRead: number;
}

/** Options for appending entries. */
export interface AppendOptions {
  /**
   * The ids to store the drafts under, from `reserveIds` (recorded with an idempotency claim
   * before writing, so a retry writes the very same entries again: a plain overwrite with
   * identical content, which changes nothing and leaves no stream record).
   */
  readonly ids?: readonly number[];
}

/** The stored records, in draft order. */
export type AppendResult = AuditRecord[];

/**
 * The store of audit entries. Each entry is one plain write; what is derived from entries (rollup
 * counters) is built from the table's stream, behind the request path.
 */
export interface EventStore {
  /**
   * Writes the drafts under `options.ids`, or ids it reserves. Drafts without a timestamp get
   * "now". Returns the stored records in draft order: a conditional id (outside any writer's slot)
   * that another entry holds is replaced by a fresh one of the same millisecond, so a record's id
   * can differ from the one given.
   */
  append(tenant: string, drafts: readonly EventDraft[], options?: AppendOptions): Promise<AppendResult>;
  /**
   * Ids for `drafts` that no other writer can use, to be passed to `append` (the timestamp of an
   * entry without one is its id's millisecond).
   */
  reserveIds(drafts: readonly EventDraft[]): Promise<number[]>;
  /** Reads one page of entries. */
  queryPage(query: PageQuery): Promise<PageResult>;
  /**
   * Counts entries without returning them (the exact count of a partial hour, or the position
   * `limit` entries into a range, to skip to a deep page).
   */
  countEntries(query: CountQuery): Promise<CountResult>;
}
