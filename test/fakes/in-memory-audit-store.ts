import {
  counterBucketPrefix,
  counterItemKey,
  counterPartition,
} from '../../lambdas/adapters/dynamodb-keys.js';
import { UnstorableEventError } from '../../lambdas/domain/errors.js';
import { allocateIds, isEncodableTimestamp } from '../../lambdas/domain/ids.js';
import { jsonValueProblem } from '../../lambdas/domain/json-values.js';
import { type AuditRecord, actorOf, type EventDraft, sealRecord } from '../../lambdas/domain/record.js';
import { type CounterScope, counterDeltas } from '../../lambdas/domain/rollups.js';
import type { BucketCount, CounterStore } from '../../lambdas/ports/counter-store.js';
import type {
  AppendOptions,
  AppendResult,
  CountQuery,
  CountResult,
  EntrySelector,
  EventStore,
  PageQuery,
  PageResult,
} from '../../lambdas/ports/event-store.js';

/** Nesting a draft may have (as the DynamoDB event store allows). */
const MAX_DRAFT_DEPTH = 40;

/**
 * The state behind the in-memory event and counter stores: entries by tenant, the dedupe keys,
 * and the rollup counters, which `append` writes through the domain's own `counterDeltas` (one
 * shard), so the counters count exactly what the DynamoDB event store's transactions count.
 */
export class InMemoryAuditTables {
  readonly entries = new Map<string, Map<number, AuditRecord>>();
  readonly dedupe = new Map<string, number>();
  /** Counter items as `pk|sk` → n, the control table's counter items with their shards summed. */
  readonly counterItems = new Map<string, number>();

  entriesOf(tenant: string): Map<number, AuditRecord> {
    let entries = this.entries.get(tenant);
    if (!entries) {
      entries = new Map();
      this.entries.set(tenant, entries);
    }
    return entries;
  }

  addCounters(records: readonly AuditRecord[], delta: 1 | -1): void {
    for (const { counter, delta: by } of counterDeltas(records, delta, 0).values()) {
      const key = counterItemKey(counter);
      const id = `${key.pk}|${key.sk}`;
      this.counterItems.set(id, (this.counterItems.get(id) ?? 0) + by);
    }
  }
}

/** Whether `record` is in the partition a selector reads (the table or one of its indexes). */
const selects = (selector: EntrySelector, record: AuditRecord): boolean => {
  switch (selector.kind) {
    case 'all':
      return true;
    case 'action':
      return record.action_type === selector.action;
    case 'actor':
      return actorOf(record) === selector.actor;
    case 'apiCalls':
      // Without an actor, the sparse API-call index; with one, that actor's partition of the actor index.
      return selector.actor === undefined ? record.request !== undefined : actorOf(record) === selector.actor;
  }
};

export interface InMemoryEventStoreOptions {
  readonly clock?: () => number;
  readonly random?: () => number;
}

/**
 * An {@link EventStore} in memory with the DynamoDB event store's behaviour (the contract suite in
 * test/contracts holds both to it): ids allocated as `allocateIds` does, retried on collision;
 * a batch refused whole when one draft cannot be sealed (it does not model DynamoDB's item size
 * limits); dedupe keys that skip a draft written
 * before; key-condition reads in id order. `failNextAppend` injects a store failure.
 */
export class InMemoryEventStore implements EventStore {
  readonly tables: InMemoryAuditTables;
  readonly #clock: () => number;
  readonly #random: () => number;
  readonly #failures: unknown[] = [];
  /** Every query this store served, for tests that check how a use case reads. */
  readonly pageQueries: PageQuery[] = [];
  readonly countQueries: CountQuery[] = [];

  constructor(tables = new InMemoryAuditTables(), options: InMemoryEventStoreOptions = {}) {
    this.tables = tables;
    this.#clock = options.clock ?? Date.now;
    this.#random = options.random ?? Math.random;
  }

  /** Makes the next `append` fail with `error` before writing anything. */
  failNextAppend(error: unknown): void {
    this.#failures.push(error);
  }

  /** Every entry of `tenant`, in id order. */
  all(tenant: string): AuditRecord[] {
    return [...this.tables.entriesOf(tenant).values()].sort((a, b) => a.id - b.id);
  }

  async append(
    tenant: string,
    drafts: readonly EventDraft[],
    options: AppendOptions = {},
  ): Promise<AppendResult> {
    if (this.#failures.length > 0) throw this.#failures.shift();
    if (options.dedupeKeys && options.dedupeKeys.length !== drafts.length) {
      throw new RangeError('dedupeKeys must have one key per draft');
    }
    for (const draft of drafts) {
      if (draft.timestamp !== undefined && !isEncodableTimestamp(draft.timestamp)) {
        throw new RangeError(`timestamp ${draft.timestamp} is outside the supported range`);
      }
    }
    drafts.forEach((draft, index) => {
      const problem = jsonValueProblem(draft, MAX_DRAFT_DEPTH);
      if (problem) throw new UnstorableEventError(index, problem.message, { path: problem.path });
    });
    const now = this.#clock();
    const entries = this.tables.entriesOf(tenant);
    const results: AppendResult = [];
    const written: AuditRecord[] = [];
    drafts.forEach((draft, index) => {
      const dedupeKey = options.dedupeKeys?.[index];
      const dedupeId = dedupeKey === undefined ? undefined : `${tenant}#${dedupeKey}`;
      if (dedupeId !== undefined && this.tables.dedupe.has(dedupeId)) {
        results.push(null);
        return;
      }
      const timestamp = draft.timestamp ?? now;
      let id = allocateIds(timestamp, 1, this.#random)[0] as number;
      while (entries.has(id)) id = allocateIds(timestamp, 1, this.#random)[0] as number;
      const record = sealRecord(tenant, id, timestamp, draft);
      entries.set(id, record);
      if (dedupeId !== undefined) this.tables.dedupe.set(dedupeId, id);
      written.push(record);
      results.push(record);
    });
    this.tables.addCounters(written, 1);
    return results;
  }

  async findDeduplicated(tenant: string, dedupeKeys: readonly string[]): Promise<(number | undefined)[]> {
    return dedupeKeys.map((key) => this.tables.dedupe.get(`${tenant}#${key}`));
  }

  #range(query: PageQuery | CountQuery): AuditRecord[] {
    return this.all(query.tenant)
      .filter((record) => record.id >= query.minId && record.id <= query.maxId)
      .filter((record) => selects(query.selector, record))
      .sort((a, b) => (query.newestFirst ? b.id - a.id : a.id - b.id));
  }

  async queryPage(query: PageQuery): Promise<PageResult> {
    this.pageQueries.push(query);
    if (query.minId > query.maxId || query.limit < 1) return { records: [], itemsRead: 0, capacityUnits: 0 };
    const records = this.#range(query).slice(0, query.limit);
    return { records, itemsRead: records.length, capacityUnits: records.length * 0.5 };
  }

  async countEntries(query: CountQuery): Promise<CountResult> {
    this.countQueries.push(query);
    const limit = query.limit ?? Number.POSITIVE_INFINITY;
    if (query.minId > query.maxId || limit < 1) return { count: 0, lastId: undefined, itemsRead: 0 };
    const counted = this.#range(query).slice(0, limit);
    const last = counted[counted.length - 1];
    return {
      count: counted.length,
      lastId: counted.length >= limit && last ? last.id : undefined,
      itemsRead: counted.length,
    };
  }
}

/** A {@link CounterStore} over the counters an {@link InMemoryEventStore} writes. */
export class InMemoryCounterStore implements CounterStore {
  readonly #tables: InMemoryAuditTables;

  constructor(tables: InMemoryAuditTables) {
    this.#tables = tables;
  }

  async total(tenant: string, scope: CounterScope): Promise<number> {
    return (
      this.#tables.counterItems.get(
        `${counterPartition(tenant, scope)}|${counterBucketPrefix({ unit: 'total' })}0`,
      ) ?? 0
    );
  }

  async bucketCounts(
    tenant: string,
    scope: CounterScope,
    unit: 'day' | 'hour',
    first: number,
    last: number,
  ): Promise<BucketCount[]> {
    const partition = `${counterPartition(tenant, scope)}|`;
    const marker = counterBucketPrefix({ unit, index: 0 }).slice(0, 2);
    const counts: BucketCount[] = [];
    for (const [id, count] of this.#tables.counterItems) {
      if (!id.startsWith(partition) || count <= 0) continue;
      const sk = id.slice(partition.length);
      if (!sk.startsWith(marker)) continue;
      const bucket = Number(sk.split('#')[1]);
      if (bucket >= first && bucket <= last) counts.push({ bucket, count });
    }
    return counts.sort((a, b) => a.bucket - b.bucket);
  }
}

/** An event store and the counter store that reads its counters, sharing one state. */
export const inMemoryAuditStore = (options: InMemoryEventStoreOptions = {}) => {
  const tables = new InMemoryAuditTables();
  return {
    tables,
    events: new InMemoryEventStore(tables, options),
    counters: new InMemoryCounterStore(tables),
  };
};
