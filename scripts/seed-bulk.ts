import { randomUUID } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  paginateQuery,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { counterItemDeltas, counterUpdate } from '../lambdas/adapters/dynamodb-counters.js';
import { eventsPartition, seedMarkerKey } from '../lambdas/adapters/dynamodb-keys.js';
import { itemToRecord } from '../lambdas/adapters/dynamodb-records.js';
import { CONTROL_KEYS, EVENTS_KEYS } from '../lambdas/adapters/table-definitions.js';
import { firstIdAt, lastIdAt } from '../lambdas/domain/ids.js';
import type { AuditRecord, EventDraft } from '../lambdas/domain/record.js';
import { COUNTER_SHARDS } from '../lambdas/domain/rollups.js';
import { hourOf } from '../lambdas/domain/time.js';
import { sealSequential, writeRecords } from '../local/bulk-write.js';

export interface SeedTables {
  readonly eventsTable: string;
  readonly controlTable: string;
}

/** The marker a bulk seed keeps while it runs: which tenant, which time range, counted up to when. */
export interface SeedMarker {
  readonly runId: string;
  /**
   * 'bulk' while entries are written without conditions; 'transactional' when the range had
   * entries and the run writes through the event store (always counted): the marker then only
   * keeps other seeds of the tenant out.
   */
  readonly mode: 'bulk' | 'transactional';
  /** The run's timestamps lie in [from, to]. */
  readonly from: number;
  readonly to: number;
  /** Every entry with a timestamp ≤ countedTo is written and counted (from − 1 at first). */
  readonly countedTo: number;
}

/** What a bulk write reports as it goes: entries stored, then entries counted. */
export interface SeedProgress {
  stored(count: number): void;
  counted(count: number): void;
}

const NO_PROGRESS: SeedProgress = { stored: () => undefined, counted: () => undefined };

/** Thrown when a tenant's seed marker is already there: another seed runs, or one was cut off. */
export class SeedMarkerExistsError extends Error {
  override readonly name = 'SeedMarkerExistsError';
}

/** Events written before their hours are counted: a few seconds of work. */
const GROUP_EVENTS = 5_000;

/** Items grouped by the UTC hour of their timestamp. */
const byHour = <T>(items: readonly T[], timestampOf: (item: T) => number): Map<number, T[]> => {
  const hours = new Map<number, T[]>();
  for (const item of items) {
    const hour = hourOf(timestampOf(item));
    const list = hours.get(hour);
    if (list) list.push(item);
    else hours.set(hour, [item]);
  }
  return hours;
};

const markerKey = seedMarkerKey;

/**
 * Bulk seeding: BatchWriteItem for entries, then the rollup counters of each hour in one
 * transaction, ~2.5× faster than conditional transactions on DynamoDB Local. It is only used
 * when it is safe:
 *
 * - ids: BatchWriteItem cannot be conditional, so the run first claims the tenant (a marker item,
 *   put only if absent: no two bulk seeds of a tenant at once), then checks that the tenant has no
 *   entry at all in the run's time range; if it has one, the caller uses the transactional path
 *   instead. The run's ids are then sequences 0, 1, … of each millisecond, distinct by
 *   construction, and its range ends a minute before it started, so entries that live writers
 *   stamp with "now" cannot fall into it. (Writers that bring their own past timestamps, admin
 *   imports and EventBridge replays, must not import into the same range during the seed.)
 * - counters: the run goes through groups of consecutive hours (~5,000 events). Once a group's
 *   entries are all stored, each hour's counter deltas (≤ 3 + 3 × actions + actors updates, under
 *   100 for seed data) go in one idempotent transaction that also marks the hour counted in the
 *   marker; then the marker's `countedTo` moves past the group. A run cut off hard leaves at most
 *   one group past `countedTo`, some of its hours marked counted: `repair` counts exactly the
 *   entries of the others.
 */
export class BulkSeeder {
  readonly #doc: DynamoDBDocumentClient;
  readonly #tables: SeedTables;
  readonly #tenant: string;
  readonly #concurrency: number;
  #marker: SeedMarker | undefined;

  constructor(doc: DynamoDBDocumentClient, tables: SeedTables, tenant: string, concurrency = 8) {
    this.#doc = doc;
    this.#tables = tables;
    this.#tenant = tenant;
    this.#concurrency = concurrency;
  }

  /**
   * Claims the tenant for a run over [from, to] and answers whether bulk writing is safe (no entry
   * of the tenant in that range). Either way the claim stands until `finish`.
   */
  async begin(from: number, to: number): Promise<boolean> {
    const marker: SeedMarker = { runId: randomUUID(), mode: 'bulk', from, to, countedTo: from - 1 };
    try {
      await this.#doc.send(
        new PutCommand({
          TableName: this.#tables.controlTable,
          Item: { ...markerKey(this.#tenant), ...marker },
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': CONTROL_KEYS.partition },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      throw new SeedMarkerExistsError(
        `Another seed of tenant ${this.#tenant} is running, or one was cut off: if none is running, run again with --repair to count what it wrote, then seed.`,
      );
    }
    this.#marker = marker;
    const existing = await this.#doc.send(
      new QueryCommand({
        TableName: this.#tables.eventsTable,
        KeyConditionExpression: '#pk = :pk AND #id BETWEEN :min AND :max',
        ExpressionAttributeNames: { '#pk': EVENTS_KEYS.partition, '#id': EVENTS_KEYS.sort },
        ExpressionAttributeValues: {
          ':pk': eventsPartition(this.#tenant),
          ':min': firstIdAt(from),
          ':max': lastIdAt(to),
        },
        Limit: 1,
        ConsistentRead: true,
      }),
    );
    if ((existing.Count ?? 0) === 0) return true;
    // Keep the claim, so that no bulk seed of the tenant starts while this run writes.
    await this.#doc.send(
      new UpdateCommand({
        TableName: this.#tables.controlTable,
        Key: markerKey(this.#tenant),
        UpdateExpression: 'SET #mode = :mode',
        ConditionExpression: 'runId = :run',
        ExpressionAttributeNames: { '#mode': 'mode' },
        ExpressionAttributeValues: { ':mode': 'transactional', ':run': marker.runId },
      }),
    );
    this.#marker = { ...marker, mode: 'transactional' };
    return false;
  }

  /**
   * Writes the drafts (timestamps within the claimed range, later than every earlier call's) in
   * groups of consecutive hours (~GROUP_EVENTS events): all the group's entries, then each hour's
   * counters in a transaction of its own that also records the hour as counted, then the marker's
   * `countedTo` moves past the group.
   */
  async write(
    drafts: readonly EventDraft[],
    progress: SeedProgress = NO_PROGRESS,
    signal?: AbortSignal,
  ): Promise<void> {
    const marker = this.#requireMarker();
    if (marker.mode !== 'bulk')
      throw new Error('the tenant has entries in the range: bulk writing is not safe');
    for (const draft of drafts) {
      const timestamp = draft.timestamp;
      if (timestamp === undefined || timestamp < marker.from || timestamp > marker.to)
        throw new RangeError('a seed draft lies outside the claimed time range');
    }
    const hours = [...byHour(drafts, (draft) => draft.timestamp as number)].sort(([a], [b]) => a - b);
    for (let start = 0; start < hours.length; ) {
      if (signal?.aborted) return;
      const group: [number, AuditRecord[]][] = [];
      let events = 0;
      for (; start < hours.length && (group.length === 0 || events < GROUP_EVENTS); start += 1) {
        const [hour, hourDrafts] = hours[start] as [number, EventDraft[]];
        group.push([hour, this.sealHour(hourDrafts)]);
        events += hourDrafts.length;
      }
      const records = group.flatMap(([, hourRecords]) => hourRecords);
      await this.writeEntries(records, (count) => progress.stored(count));
      await this.#countGroup(group, (count) => progress.counted(count));
    }
  }

  /** Seals one hour's drafts with ids 0, 1, … of each millisecond. */
  sealHour(drafts: readonly EventDraft[]): AuditRecord[] {
    return sealSequential(this.#tenant, drafts);
  }

  /**
   * BatchWriteItem, 25 entries a call, `concurrency` calls at once, unprocessed items retried;
   * `onStored` hears of each call's entries once they are all stored.
   */
  writeEntries(records: readonly AuditRecord[], onStored?: (count: number) => void): Promise<void> {
    return writeRecords(this.#doc, this.#tables.eventsTable, records, this.#concurrency, onStored);
  }

  /** Releases the tenant: the run is complete (or was found unsafe before writing anything). */
  async finish(): Promise<void> {
    const marker = this.#requireMarker();
    await this.#doc.send(
      new DeleteCommand({
        TableName: this.#tables.controlTable,
        Key: markerKey(this.#tenant),
        ConditionExpression: 'runId = :run',
        ExpressionAttributeValues: { ':run': marker.runId },
      }),
    );
    this.#marker = undefined;
  }

  /**
   * After a run was cut off: counts the entries written past the marker's `countedTo` (all of them
   * the run's own: its range was empty and claimed), then releases the tenant. Answers how many
   * entries it counted, or undefined when there was no marker.
   */
  async repair(): Promise<number | undefined> {
    const output = await this.#doc.send(
      new GetCommand({
        TableName: this.#tables.controlTable,
        Key: markerKey(this.#tenant),
        ConsistentRead: true,
      }),
    );
    if (!output.Item) return undefined;
    const item = output.Item as unknown as SeedMarker & { countedHours?: Set<number> };
    this.#marker = {
      runId: item.runId,
      mode: item.mode,
      from: item.from,
      to: item.to,
      countedTo: item.countedTo,
    };
    if (item.mode === 'transactional') {
      // Every transaction of such a run carried its entries' counters: nothing to count.
      await this.finish();
      return 0;
    }
    const records: AuditRecord[] = [];
    const pages = paginateQuery(
      { client: this.#doc },
      {
        TableName: this.#tables.eventsTable,
        KeyConditionExpression: '#pk = :pk AND #id BETWEEN :min AND :max',
        ExpressionAttributeNames: { '#pk': EVENTS_KEYS.partition, '#id': EVENTS_KEYS.sort },
        ExpressionAttributeValues: {
          ':pk': eventsPartition(this.#tenant),
          ':min': firstIdAt(item.countedTo + 1),
          ':max': lastIdAt(item.to),
        },
        ConsistentRead: true,
      },
    );
    for await (const page of pages) for (const entry of page.Items ?? []) records.push(itemToRecord(entry));
    const counted = new Set(item.countedHours ?? []);
    const group = [...byHour(records, (record) => record.timestamp)]
      .filter(([hour]) => !counted.has(hour))
      .sort(([a], [b]) => a - b);
    await this.#countGroup(group);
    await this.finish();
    return records.filter((record) => !counted.has(hourOf(record.timestamp))).length;
  }

  /**
   * Counts a group of hours whose entries are all written: each hour's counter deltas in one
   * transaction that also adds the hour to the marker's `countedHours` (a ClientRequestToken makes
   * the SDK's own retries harmless), `concurrency` hours at once; then moves `countedTo` past the
   * group and clears `countedHours`. Cut off in between, `repair` skips exactly the hours counted.
   * `onCounted` hears of each hour's entries once they are counted.
   */
  async #countGroup(
    group: readonly (readonly [number, readonly AuditRecord[]])[],
    onCounted: (count: number) => void = () => undefined,
  ): Promise<void> {
    const marker = this.#requireMarker();
    let next = 0;
    await Promise.all(
      Array.from({ length: this.#concurrency }, async () => {
        for (let entry = group[next++]; entry; entry = group[next++]) {
          const [hour, records] = entry;
          await this.#countHour(marker.runId, hour, records);
          onCounted(records.length);
        }
      }),
    );
    const countedTo = Math.max(
      marker.countedTo,
      ...group.flatMap(([, records]) => records.map((record) => record.timestamp)),
    );
    await this.#doc.send(
      new UpdateCommand({
        TableName: this.#tables.controlTable,
        Key: markerKey(this.#tenant),
        UpdateExpression: 'SET countedTo = :to REMOVE countedHours',
        ConditionExpression: 'runId = :run',
        ExpressionAttributeValues: { ':to': countedTo, ':run': marker.runId },
      }),
    );
    this.#marker = { ...marker, countedTo };
  }

  async #countHour(runId: string, hour: number, records: readonly AuditRecord[]): Promise<void> {
    const shard = Math.floor(Math.random() * COUNTER_SHARDS);
    const updates = counterItemDeltas(records, 1, shard).map((change) =>
      counterUpdate(this.#tables.controlTable, change),
    );
    if (updates.length > 99)
      throw new RangeError(
        `an hour of seed data touches ${updates.length} counters, more than one transaction holds`,
      );
    await this.#doc.send(
      new TransactWriteCommand({
        ClientRequestToken: randomUUID(),
        TransactItems: [
          ...updates,
          {
            Update: {
              TableName: this.#tables.controlTable,
              Key: markerKey(this.#tenant),
              UpdateExpression: 'ADD countedHours :hour',
              ConditionExpression: 'runId = :run',
              ExpressionAttributeValues: { ':hour': new Set([hour]), ':run': runId },
            },
          },
        ],
      }),
    );
  }

  #requireMarker(): SeedMarker {
    if (!this.#marker) throw new Error('the seed has not claimed the tenant (begin)');
    return this.#marker;
  }
}
