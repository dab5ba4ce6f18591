import {
  counterBucketPrefix,
  counterItemKey,
  counterPartition,
} from '../../lambdas/adapters/dynamodb-keys.js';
import { InvariantError, TooManyRequestsError, UnstorableEventError } from '../../lambdas/domain/errors.js';
import {
  conditionalIdFor,
  conditionalRange,
  freeConditionalId,
  isSlotId,
  SLOT_COUNT,
  SlotIdAllocator,
} from '../../lambdas/domain/id-slots.js';
import { isEncodableTimestamp, timestampOfId } from '../../lambdas/domain/ids.js';
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
/** Fresh candidates a conditional id gets before the write gives up (as the DynamoDB store). */
const CONDITIONAL_ATTEMPTS = 8;

/**
 * The state behind the in-memory event and counter stores: entries by tenant, the id slots the
 * stores (writers) sharing it hold, and the rollup counters.
 *
 * The counters are those a reader sees once the stream consumer has caught up: on DynamoDB they
 * are derived from the events table's stream behind the request path (lambdas/use-cases/
 * derive-changes.ts), here `append` counts each newly stored entry at once, through the domain's
 * own `counterDeltas` (one shard), so they count exactly what the counter step counts. Rewriting
 * an entry that is already stored (a retry with the same ids) counts nothing, as an unchanged
 * item leaves no stream record. The window in which DynamoDB's counters lag is not modelled:
 * specs that depend on it belong on the emulator.
 */
export class InMemoryAuditTables {
  readonly entries = new Map<string, Map<number, AuditRecord>>();
  /** Counter items as `pk|sk` → n, the control table's counter items with their shards summed. */
  readonly counterItems = new Map<string, number>();
  /** Slots handed to the writers (event stores) over these tables, one each. */
  #slotsTaken = 0;

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

  /** A slot no other writer over these tables holds. */
  takeSlot(): number {
    if (this.#slotsTaken >= SLOT_COUNT) throw new RangeError(`more than ${SLOT_COUNT} writers on one table`);
    const slot = this.#slotsTaken;
    this.#slotsTaken += 1;
    return slot;
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
 * test/contracts holds both to it). Each store is one writer holding one id slot for good (the
 * domain's `SlotIdAllocator`, as the DynamoDB store's reservation, without its renewals): ids of
 * recent timestamps come from the slot, back-dated ones are conditional candidates, replaced by a
 * fresh candidate when another entry holds them. Writing an id again with the same content (a
 * retry) stores nothing new; a slot id holding other content means ids were not taken from
 * `reserveIds`, which DynamoDB would silently overwrite: here it is an InvariantError. A batch is
 * refused whole when one draft cannot be sealed (it does not model DynamoDB's item size limits);
 * reads are key conditions in id order. `failNextAppend` injects a store failure.
 */
export class InMemoryEventStore implements EventStore {
  readonly tables: InMemoryAuditTables;
  readonly #clock: () => number;
  readonly #random: () => number;
  readonly #ids = new SlotIdAllocator();
  readonly #failures: unknown[] = [];
  /** Every query this store served, for tests that check how a use case reads. */
  readonly pageQueries: PageQuery[] = [];
  readonly countQueries: CountQuery[] = [];

  constructor(tables = new InMemoryAuditTables(), options: InMemoryEventStoreOptions = {}) {
    this.tables = tables;
    this.#clock = options.clock ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.#ids.use({
      slot: tables.takeSlot(),
      from: Number.NEGATIVE_INFINITY,
      until: Number.POSITIVE_INFINITY,
    });
  }

  /** Makes the next `append` fail with `error` before writing anything. */
  failNextAppend(error: unknown): void {
    this.#failures.push(error);
  }

  /** Every entry of `tenant`, in id order. */
  all(tenant: string): AuditRecord[] {
    return [...this.tables.entriesOf(tenant).values()].sort((a, b) => a.id - b.id);
  }

  async reserveIds(drafts: readonly EventDraft[]): Promise<number[]> {
    checkTimestamps(drafts);
    return this.#ids
      .assign(
        drafts.map((draft) => draft.timestamp),
        this.#clock(),
        this.#random,
      )
      .map((assignment) => assignment.id);
  }

  async append(
    tenant: string,
    drafts: readonly EventDraft[],
    options: AppendOptions = {},
  ): Promise<AppendResult> {
    if (this.#failures.length > 0) throw this.#failures.shift();
    if (options.ids && options.ids.length !== drafts.length) {
      throw new RangeError('ids must have one id per draft');
    }
    checkTimestamps(drafts);
    drafts.forEach((draft, index) => {
      const problem = jsonValueProblem(draft, MAX_DRAFT_DEPTH);
      if (problem) throw new UnstorableEventError(index, problem.message, { path: problem.path });
    });
    const ids = options.ids ?? (await this.reserveIds(drafts));
    const entries = this.tables.entriesOf(tenant);
    const added: AuditRecord[] = [];
    const records = drafts.map((draft, index) => {
      let record = sealRecord(tenant, ids[index] as number, timestampOfId(ids[index] as number), draft);
      for (let attempt = 1; ; attempt += 1) {
        const existing = entries.get(record.id);
        // The same entry written by an earlier attempt: an overwrite that changes nothing.
        if (existing?.hash === record.hash) return record;
        if (!existing) break;
        if (isSlotId(record.id)) {
          throw new InvariantError(`id ${record.id} holds another entry: ids must come from reserveIds`);
        }
        if (attempt >= CONDITIONAL_ATTEMPTS) {
          throw new TooManyRequestsError(
            'The audit store is busy; other writers took every free id tried. Retry later.',
          );
        }
        // As the DynamoDB store: one of the ids found free at that millisecond; a full millisecond
        // moves a server-stamped entry on, and refuses one with its own timestamp.
        const { first, last } = conditionalRange(record.timestamp);
        const taken = new Set([...entries.keys()].filter((id) => id >= first && id <= last));
        let timestamp = record.timestamp;
        let id = freeConditionalId(timestamp, taken, this.#random);
        if (id === undefined) {
          if (draft.timestamp !== undefined) {
            throw new TooManyRequestsError(`Every id of millisecond ${timestamp} is taken.`);
          }
          timestamp += 1;
          id = conditionalIdFor(timestamp, this.#random);
        }
        record = sealRecord(tenant, id, timestamp, draft);
      }
      entries.set(record.id, record);
      added.push(record);
      return record;
    });
    this.tables.addCounters(added, 1);
    return records;
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

/**
 * A {@link CounterStore} over the counters of an {@link InMemoryEventStore}: what the DynamoDB
 * counter store reads once the stream consumer has caught up.
 */
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

const checkTimestamps = (drafts: readonly EventDraft[]): void => {
  for (const draft of drafts) {
    if (draft.timestamp !== undefined && !isEncodableTimestamp(draft.timestamp)) {
      throw new RangeError(`timestamp ${draft.timestamp} is outside the supported range`);
    }
  }
};
