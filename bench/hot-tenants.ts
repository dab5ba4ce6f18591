import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbCounterStep } from '../lambdas/adapters/dynamodb-derivation.js';
import {
  actionPartition,
  actorPartition,
  counterItemKey,
  eventsPartition,
  journalKey,
} from '../lambdas/adapters/dynamodb-keys.js';
import { itemBytes, recordToItem } from '../lambdas/adapters/dynamodb-records.js';
import { CONTROL_KEYS } from '../lambdas/adapters/table-definitions.js';
import {
  choosePlan,
  counterPartsFor,
  mergeShards,
  RateMeter,
  type ShardPlans,
  shardOf,
  shardsAt,
} from '../lambdas/domain/hot-shards.js';
import { SlotIdAllocator } from '../lambdas/domain/id-slots.js';
import { ID_EPOCH_MS, MAX_ID } from '../lambdas/domain/ids.js';
import { type AuditRecord, actorOf, type EventDraft, sealRecord } from '../lambdas/domain/record.js';
import { COUNTER_SHARDS, counterDeltas } from '../lambdas/domain/rollups.js';
import type { ChangeRecord } from '../lambdas/ports/derivation.js';
import { browsePages } from '../lambdas/use-cases/browse-pages.js';
import { demoEvents } from '../local/demo-data.js';
import type { BenchContext, BenchModule, Measurement } from './harness.js';

/** The offered load: one tenant, this many events a second. */
const RATE = 10_000;
/** Writers (Lambda containers) sharing the load, each with its own id slot. */
const WRITERS = 16;
/** The stream consumer's batch (the construct's default `batchSize`). */
const STREAM_BATCH = 500;
/** Distinct actors of the busy tenant (each a `byActor` index key and an hourly counter). */
const ACTORS = 5_000;
/** DynamoDB: write units per partition key per second, and the goal per counter item. */
const KEY_LIMIT = 1_000;
const COUNTER_LIMIT = 100;

const seeded = (seed: number) => {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
    return state / 0x1_0000_0000;
  };
};

/** Per-second tallies per key; keeps the busiest (key, second) seen. */
class Tally {
  readonly #current = new Map<string, number>();
  #second = Number.NaN;
  max = 0;
  maxKey = '';

  add(second: number, key: string, units: number): void {
    if (second !== this.#second) this.flush(second);
    this.#current.set(key, (this.#current.get(key) ?? 0) + units);
  }

  flush(next = Number.NaN): void {
    for (const [key, units] of this.#current) {
      if (units > this.max) {
        this.max = units;
        this.maxKey = key;
      }
    }
    this.#current.clear();
    this.#second = next;
  }
}

interface Simulated {
  readonly keyUnits: Tally;
  /** The control table's keys alone (counter partitions, journal entries). */
  readonly controlUnits: Tally;
  readonly counterUpdates: Tally;
  readonly chunks: number;
  readonly shardsUsed: number;
}

/**
 * One run of the write path under a plan: every entry's base-table and index writes counted per
 * partition key per simulated second, then the stream consumer's chunks (the counter step's own
 * packer, batches of 500 per stream shard per second) and their counter updates, counted per item
 * and (2 write units per transactional item) per partition key.
 */
const simulate = (
  tenant: string,
  records: readonly { record: AuditRecord; units: number }[],
  plans: ShardPlans,
): Simulated => {
  const keyUnits = new Tally();
  const controlUnits = new Tally();
  const counterUpdates = new Tally();
  // The packer needs no client: it only sizes chunks.
  const step = new DynamoDbCounterStep({} as DynamoDBDocumentClient, { controlTable: 'simulated' });
  const random = seeded(16);
  let chunks = 0;
  const shardsUsed = new Set<number>();
  let second = Number.NaN;
  let streamShards = new Map<number, ChangeRecord[]>();
  const derive = (at: number) => {
    for (const pending of streamShards.values()) {
      for (let start = 0; start < pending.length; start += STREAM_BATCH) {
        const batch = pending.slice(start, start + STREAM_BATCH);
        let position = 0;
        while (position < batch.length) {
          const packer = step.packer();
          let end = position;
          while (end < batch.length && end - position < 100) {
            if (!packer.add(batch[end] as ChangeRecord) && end > position) break;
            end += 1;
          }
          const chunk = batch.slice(position, end).map((change) => change.newImage as unknown as AuditRecord);
          position = end;
          chunks += 1;
          // The counter step's spread: one counter shard per chunk, over k counter partitions.
          const parts = counterPartsFor(
            Math.min(...chunk.map((record) => shardsAt(plans, record.timestamp))),
          );
          const shard = Math.floor(random() * COUNTER_SHARDS * parts);
          for (const { counter } of counterDeltas(chunk, 1, shard).values()) {
            const key = counterItemKey(counter);
            counterUpdates.add(at, `${key[CONTROL_KEYS.partition]}|${key[CONTROL_KEYS.sort]}`, 1);
            for (const tally of [keyUnits, controlUnits])
              tally.add(at, `control:${key[CONTROL_KEYS.partition]}`, 2);
          }
          const journal = `control:${journalKey('counters', `chunk-${chunks}`)[CONTROL_KEYS.partition]}`;
          for (const tally of [keyUnits, controlUnits]) tally.add(at, journal, 2);
        }
      }
    }
    streamShards = new Map();
  };
  for (const { record, units } of records) {
    const at = Math.floor(record.timestamp / 1000);
    if (at !== second) {
      if (!Number.isNaN(second)) derive(second);
      second = at;
    }
    const shard = shardOf(record.id, plans);
    shardsUsed.add(shard);
    keyUnits.add(at, `events:${eventsPartition(tenant, shard)}`, units);
    keyUnits.add(at, `byAction:${actionPartition(tenant, record.action_type, shard)}`, units);
    const actor = actorOf(record);
    if (actor !== undefined) keyUnits.add(at, `byActor:${actorPartition(tenant, actor, shard)}`, units);
    const pending = streamShards.get(shard) ?? [];
    pending.push({ eventId: '', sequenceNumber: '', kind: 'insert', newImage: record as never });
    streamShards.set(shard, pending);
  }
  derive(second);
  keyUnits.flush();
  controlUnits.flush();
  counterUpdates.flush();
  return { keyUnits, controlUnits, counterUpdates, chunks, shardsUsed: shardsUsed.size };
};

/**
 * Issue 16, goal 6: one tenant offered 10,000 events a second, simulated (no emulator: a
 * simulated clock, every write counted per partition key per second). The unsharded baseline
 * (k = 1, today's layout) beside the plan the planner chooses from the measured rate. Also the
 * read side: a filtered page of 100 merged from the simulated shards, items read ÷ returned.
 */
export const hotTenantsBench: BenchModule = async (context) => {
  const seconds = context.quick ? 10 : 60;
  const tenant = 'hot-tenant';
  const start = Date.UTC(2026, 10, 30, 12);
  const random = seeded(6);
  const templates = demoEvents({ count: 2_000, days: 1, now: start, seed: 6 });

  // Writers: each its own slot, server-stamped ids (as the ingest handler assigns them).
  const allocators = Array.from({ length: WRITERS }, (_, slot) => {
    const allocator = new SlotIdAllocator();
    allocator.use({ slot, from: start - 1, until: start + seconds * 1000 + 60_000 });
    return allocator;
  });
  const records: { record: AuditRecord; units: number }[] = [];
  const meter = new RateMeter();
  const perMs = RATE / 1000;
  for (let ms = 0; ms < seconds * 1000; ms += 1) {
    const now = start + ms;
    for (let n = 0; n < perMs; n += 1) {
      const template = templates[Math.floor(random() * templates.length)] as EventDraft;
      const { timestamp: _t, ...draft } = template;
      const writer = allocators[Math.floor(random() * WRITERS)] as SlotIdAllocator;
      const [assignment] = writer.assign([undefined], now);
      if (!assignment) throw new Error('no id');
      const record = sealRecord(tenant, assignment.id, assignment.timestamp, {
        ...draft,
        user: `user-${Math.floor(random() * ACTORS)}@example.com`,
      });
      records.push({ record, units: Math.ceil(itemBytes(recordToItem(record)) / 1024) });
      meter.add(tenant, now);
    }
  }
  records.sort((a, b) => a.record.timestamp - b.record.timestamp);
  const measured = meter.peak(tenant, start + seconds * 1000 - 1);
  const plan = choosePlan([], measured, start);
  if (!plan) throw new Error(`the planner chose no plan for ${measured} events/s`);
  // The plan in effect from the start: the steady state once it took effect (PLAN_LEAD_MS later).
  const plans: ShardPlans = [{ from: start, shards: plan.shards }];
  const baseline = simulate(tenant, records, []);
  const sharded = simulate(tenant, records, plans);

  // Reads: the newest pages of one action's index partitions (the filtered fetch), merged.
  const action = 'user_login_failed';
  const shardLists = Array.from({ length: plan.shards }, () => [] as number[]);
  for (const { record } of records) {
    if (record.action_type === action) shardLists[shardOf(record.id, plans)]?.push(record.id);
  }
  for (const list of shardLists) list.reverse();
  let positions: (number | undefined)[] = new Array(plan.shards).fill(undefined);
  let read = 0;
  let returned = 0;
  let reads = 0;
  const pages = 20;
  for (let page = 0; page < pages; page += 1) {
    const result = await mergeShards<number>({
      shards: plan.shards,
      positions,
      limit: 100,
      newestFirst: true,
      idOf: (id) => id,
      read: async ({ shard, after, bound, limit }) => {
        const matching = (shardLists[shard] ?? []).filter(
          (id) => (after === undefined || id < after) && (bound === undefined || id >= bound),
        );
        return { items: matching.slice(0, limit), more: matching.length > limit };
      },
    });
    read += result.itemsRead;
    returned += result.items.length;
    reads += result.reads;
    positions = result.positions;
  }
  const measurements: Measurement[] = await storeReads(context);
  const meanUnits = records.reduce((sum, entry) => sum + entry.units, 0) / records.length;
  const run = `${seconds} simulated s, ${records.length} events of ${ACTORS} actors, mean ${meanUnits.toFixed(2)} WCU/event`;
  const where = (simulated: Simulated) =>
    `busiest: ${simulated.keyUnits.maxKey.split(':')[0]} key ${simulated.keyUnits.maxKey.split(':').slice(1).join(':')}`;
  measurements.unshift(
    {
      id: 'hot-tenants.shards-chosen',
      issue: 16,
      description: 'Hot tenant: shards the planner chooses for the measured peak rate',
      value: plan.shards,
      unit: 'shards',
      details: `measured peak ${measured} events/s; 700 WCU/s planned per key (DynamoDB's limit 1,000), k a power of two`,
    },
    {
      id: 'hot-tenants.max-key-wcu',
      issue: 16,
      description: `Hot tenant at ${RATE} events/s: write units per second on the busiest partition key (k = ${plan.shards})`,
      value: sharded.keyUnits.max,
      unit: 'WCU/s',
      goal: { op: '<=', target: KEY_LIMIT },
      details: `${run}; ${where(sharded)}; unsharded baseline ${baseline.keyUnits.max} WCU/s (${where(baseline)})`,
    },
    {
      id: 'hot-tenants.max-counter-updates',
      issue: 16,
      description: `Hot tenant at ${RATE} events/s: updates per second of the busiest counter item (k = ${plan.shards})`,
      value: sharded.counterUpdates.max,
      unit: 'updates/s',
      goal: { op: '<=', target: COUNTER_LIMIT },
      details: `${sharded.chunks} consumer chunks (batches of ${STREAM_BATCH} per stream shard, the counter step's packer), counters over ${counterPartsFor(plan.shards)} partitions × ${COUNTER_SHARDS} items (busiest ${sharded.counterUpdates.maxKey}), busiest counter partition ${sharded.controlUnits.max} WCU/s; unsharded baseline ${baseline.counterUpdates.max} updates/s (${baseline.chunks} chunks, ${COUNTER_SHARDS} items, busiest ${baseline.counterUpdates.maxKey}), its counter partition ${baseline.controlUnits.max} WCU/s`,
    },
    {
      id: 'hot-tenants.unsharded-max-key-wcu',
      issue: 16,
      description: `Hot tenant at ${RATE} events/s, unsharded baseline: write units per second on the busiest partition key`,
      value: baseline.keyUnits.max,
      unit: 'WCU/s',
      details: `${run}; ${where(baseline)}: over DynamoDB's 1,000 WCU/s per partition key`,
    },
    {
      id: 'hot-tenants.merged-read-amplification',
      issue: 16,
      description: `Hot tenant: filtered page merged from ${plan.shards} shards, items read ÷ items returned`,
      value: read / Math.max(1, returned),
      unit: 'ratio',
      goal: { op: '<=', target: 1.1 },
      details: `${pages} pages of 100 of action ${action} by cursor (simulated shards): ${read} read for ${returned}, ${(reads / pages).toFixed(1)} shard queries a page (unsharded: 1)`,
    },
  );
  return measurements;
};

/**
 * The read side on DynamoDB Local: a tenant on 16 write shards beside a tenant on one holding the
 * very same entries (same ids), a filtered page of 100 each (items read ÷ returned, and read
 * capacity from ReturnConsumedCapacity), and the hot tenant's first page at two sizes.
 */
const storeReads = async (context: BenchContext): Promise<Measurement[]> => {
  const { service, quick } = context;
  const { events, counters, shardPlans } = service.services;
  const shards = 16;
  const sizes = quick ? [1_000, 10_000] : [5_000, 40_000];
  const hot = sizes.map((size) => context.tenant(`hot-${size}`));
  const cold = context.tenant('cold');
  // Plans from the start of time for these new tenants (a real plan starts PLAN_LEAD_MS ahead).
  for (const tenant of hot) await shardPlans.record(tenant, { from: ID_EPOCH_MS, shards });
  const now = Date.now();
  for (const [index, size] of sizes.entries()) {
    const drafts = demoEvents({ count: size, days: 1, now, seed: 16 + index }).map(
      ({ timestamp: _stamped, ...draft }) => draft,
    );
    const batches: EventDraft[][] = [];
    for (let start = 0; start < drafts.length; start += 100) batches.push(drafts.slice(start, start + 100));
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < batches.length) {
          const batch = batches[next++] as EventDraft[];
          const ids = await events.reserveIds(batch);
          await events.append(hot[index] as string, batch, { ids });
          // The larger tenant's twin on one shard: the unsharded baseline of the same entries.
          if (index === sizes.length - 1) await events.append(cold, batch, { ids });
        }
      }),
    );
  }
  await service.settle();
  const big = hot.at(-1) as string;
  // Up to 5 full pages of one action, each resuming where the last one ended (the hot tenant from
  // its shard positions, the one-shard tenant after the last id, as its cursors do).
  const filtered = (tenant: string) =>
    context.measureCapacity(async () => {
      let itemsRead = 0;
      let returned = 0;
      let pages = 0;
      let positions: readonly (number | undefined)[] | undefined;
      let maxId = MAX_ID;
      for (; pages < 5; pages += 1) {
        const page = await events.queryPage({
          tenant,
          selector: { kind: 'action', action: 'user_login_failed' },
          minId: 0,
          maxId,
          newestFirst: true,
          limit: 100,
          ...(positions ? { shardPositions: positions } : {}),
        });
        if (page.records.length < 100) break;
        itemsRead += page.itemsRead;
        returned += page.records.length;
        positions = page.shardPositions;
        if (!positions) maxId = (page.records.at(-1)?.id ?? 1) - 1;
      }
      return { itemsRead, returned, pages };
    });
  const sharded = await filtered(big);
  const unsharded = await filtered(cold);
  const firstPage = (tenant: string) =>
    context.measureCapacity(() =>
      browsePages(
        { events, counters, cursorKey: service.cursorKey, cursorTtlSeconds: 3600, clock: Date.now },
        { tenant, selector: { kind: 'all' }, pageSize: 100, binding: 'canary', cursorField: 'cursor' },
      ),
    );
  const smallCost = await firstPage(hot[0] as string);
  const bigCost = await firstPage(big);
  const coldCost = await firstPage(cold);
  const walked = sharded.result;
  return [
    {
      id: 'hot-tenants.store-read-amplification',
      issue: 16,
      description: `Hot tenant on ${shards} shards (DynamoDB Local): filtered pages of 100, items read ÷ items returned`,
      value: walked.itemsRead / Math.max(1, walked.returned),
      unit: 'ratio',
      goal: { op: '<=', target: 1.1 },
      details: `${walked.pages} pages of one action on a ${sizes.at(-1)}-entry tenant: ${walked.itemsRead} read for ${walked.returned}; ${sharded.readUnits} RCU vs ${unsharded.readUnits} RCU for the same pages of the same entries on one shard (${unsharded.result.itemsRead} read for ${unsharded.result.returned}): each shard query rounds up to 4 KB on its own`,
    },
    {
      id: 'hot-tenants.first-page-cost-ratio',
      issue: 16,
      description: `Hot tenant on ${shards} shards: first page read capacity, ${sizes.at(-1)} entries ÷ ${sizes[0]} entries`,
      value: bigCost.readUnits / Math.max(0.5, smallCost.readUnits),
      unit: 'ratio',
      goal: { op: '<=', target: 1.5 },
      details: `${bigCost.readUnits} RCU vs ${smallCost.readUnits} RCU (page of 100 with exact page_count: the merged page and ${counterPartsFor(shards)} counter partitions; DynamoDB Local charges nothing for an empty counter partition, AWS 1 RCU); the same ${sizes.at(-1)} entries on one shard: ${coldCost.readUnits} RCU`,
    },
  ];
};
