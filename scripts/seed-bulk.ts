import { randomUUID } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  paginateQuery,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { eventsPartition, seedMarkerKey } from '../lambdas/adapters/dynamodb-keys.js';
import { CONTROL_KEYS, EVENTS_KEYS } from '../lambdas/adapters/table-definitions.js';
import { firstIdAt, lastIdAt } from '../lambdas/domain/ids.js';
import type { AuditRecord, EventDraft } from '../lambdas/domain/record.js';
import { sealSequential, writeRecords } from '../local/bulk-write.js';

export interface SeedTables {
  readonly eventsTable: string;
  readonly controlTable: string;
}

/** The marker a seed keeps while it runs: which run, how it writes, which time range. */
export interface SeedMarker {
  readonly runId: string;
  /**
   * 'bulk' while entries are written without conditions; 'store' when the range had entries and
   * the run writes through the event store's append: the marker then only keeps other seeds of
   * the tenant out.
   */
  readonly mode: 'bulk' | 'store';
  /** The run's timestamps lie in [from, to]. */
  readonly from: number;
  readonly to: number;
}

/** A cut-off run's marker, released: its range and the entries it had stored there. */
export interface ReleasedRun {
  readonly mode: SeedMarker['mode'];
  readonly from: number;
  readonly to: number;
  readonly stored: number;
}

/** Thrown when a tenant's seed marker is already there: another seed runs, or one was cut off. */
export class SeedMarkerExistsError extends Error {
  override readonly name = 'SeedMarkerExistsError';
}

/** Entries written between checks for a stop request. */
const GROUP_EVENTS = 5_000;

const markerKey = seedMarkerKey;

/**
 * Bulk seeding: BatchWriteItem for entries, no conditions, no transactions. Like every other
 * entry, the run's entries are counted by the events table's stream consumer, not here. It is
 * only used when it is safe:
 *
 * - ids: BatchWriteItem cannot be conditional, so the run first claims the tenant (a marker item,
 *   put only if absent: no two seeds of a tenant at once), then checks that the tenant has no
 *   entry at all in the run's time range; if it has one, the caller writes through the event
 *   store instead. The run's ids are then sequences 0, 1, … of each millisecond, distinct by
 *   construction, and its range ends a minute before it started, so entries that live writers
 *   stamp with "now" cannot fall into it. (Writers that bring their own past timestamps, admin
 *   imports and EventBridge replays, must not import into the same range during the seed.)
 * - a run cut off hard leaves its marker: the next seed of the tenant is refused (it would mix
 *   its entries into a range it did not check), until `release` (`--repair`) removes it. What the
 *   cut-off run stored stays, and is counted by the consumer like any entry.
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
    const marker: SeedMarker = { runId: randomUUID(), mode: 'bulk', from, to };
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
        `Another seed of tenant ${this.#tenant} is running, or one was cut off: if none is running, run again with --repair to release the tenant, then seed.`,
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
        ExpressionAttributeValues: { ':mode': 'store', ':run': marker.runId },
      }),
    );
    this.#marker = { ...marker, mode: 'store' };
    return false;
  }

  /**
   * Writes the drafts (timestamps within the claimed range, none in a millisecond an earlier call
   * wrote) in groups of ~GROUP_EVENTS entries, stopping between groups once `signal` is aborted;
   * `onStored` hears of each BatchWriteItem's entries once stored.
   */
  async write(
    drafts: readonly EventDraft[],
    onStored: (count: number) => void = () => undefined,
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
    const records = this.seal(drafts);
    for (let start = 0; start < records.length; start += GROUP_EVENTS) {
      if (signal?.aborted) return;
      await this.writeEntries(records.slice(start, start + GROUP_EVENTS), onStored);
    }
  }

  /** Seals drafts with ids 0, 1, … of each millisecond. */
  seal(drafts: readonly EventDraft[]): AuditRecord[] {
    return sealSequential(this.#tenant, drafts);
  }

  /**
   * BatchWriteItem, 25 entries a call, `concurrency` calls at once, unprocessed items retried;
   * `onStored` hears of each call's entries once they are all stored.
   */
  writeEntries(records: readonly AuditRecord[], onStored?: (count: number) => void): Promise<void> {
    return writeRecords(this.#doc, this.#tables.eventsTable, records, this.#concurrency, onStored);
  }

  /** Releases the tenant: the run is complete, stopped, or failed. */
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
   * After a run was cut off: releases the tenant (the marker), and answers the run's range and how
   * many entries the tenant has stored in it, or undefined when there was no marker. Nothing needs
   * counting: the stream consumer counts those entries as it counts every other.
   */
  async release(): Promise<ReleasedRun | undefined> {
    const output = await this.#doc.send(
      new GetCommand({
        TableName: this.#tables.controlTable,
        Key: markerKey(this.#tenant),
        ConsistentRead: true,
      }),
    );
    if (!output.Item) return undefined;
    const item = output.Item as unknown as SeedMarker;
    this.#marker = { runId: item.runId, mode: item.mode, from: item.from, to: item.to };
    let stored = 0;
    const pages = paginateQuery(
      { client: this.#doc },
      {
        TableName: this.#tables.eventsTable,
        KeyConditionExpression: '#pk = :pk AND #id BETWEEN :min AND :max',
        ExpressionAttributeNames: { '#pk': EVENTS_KEYS.partition, '#id': EVENTS_KEYS.sort },
        ExpressionAttributeValues: {
          ':pk': eventsPartition(this.#tenant),
          ':min': firstIdAt(item.from),
          ':max': lastIdAt(item.to),
        },
        Select: 'COUNT',
        ConsistentRead: true,
      },
    );
    for await (const page of pages) stored += page.Count ?? 0;
    await this.finish();
    return { mode: item.mode, from: item.from, to: item.to, stored };
  }

  #requireMarker(): SeedMarker {
    if (!this.#marker) throw new Error('the seed has not claimed the tenant (begin)');
    return this.#marker;
  }
}
