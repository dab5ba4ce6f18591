import { shardPartition } from '../domain/hot-shards.js';
import { COUNTER_SHARDS, type CounterBucket, type CounterId, type CounterScope } from '../domain/rollups.js';
import { CONTROL_KEYS, EVENTS_KEYS } from './table-definitions.js';

/**
 * The key layout: every partition and sort key value the adapters, scripts and benches write or
 * read is built here and nowhere else (attribute names are in `table-definitions.ts`). Changing a
 * layout (hot-tenant sharding of the events partition, say) is a change to this file.
 */

const { partition: PK, sort: SK } = CONTROL_KEYS;

/** A control-table item key. */
export type ControlKey = Record<typeof PK | typeof SK, string>;

const controlKey = (pk: string, sk: string): ControlKey => ({ [PK]: pk, [SK]: sk }) as ControlKey;

// ---- events table ----

// A hot tenant's write shard s > 0 puts `tenant~s` wherever the tenant's name starts a key
// (lambdas/domain/hot-shards.ts); shard 0, every k = 1 tenant and all older entries keep the
// tenant's own keys.

/** The events-table partition of a tenant's entries (of write shard `shard`). */
export const eventsPartition = (tenant: string, shard = 0): string => shardPartition(tenant, shard);

/** The key of one entry (in write shard `shard`). */
export const eventKey = (tenant: string, id: number, shard = 0): Record<string, string | number> => ({
  [EVENTS_KEYS.partition]: eventsPartition(tenant, shard),
  [EVENTS_KEYS.sort]: id,
});

/** `byAction` partition: a tenant's entries of one action type (of write shard `shard`). */
export const actionPartition = (tenant: string, action: string, shard = 0): string =>
  `${shardPartition(tenant, shard)}#${action}`;

/** `byActor` partition: a tenant's entries of one actor (user, else API key id). */
export const actorPartition = (tenant: string, actor: string, shard = 0): string =>
  `${shardPartition(tenant, shard)}#${actor}`;

/** `byApiCall` partition: a tenant's entries that record an API call. */
export const apiCallPartition = (tenant: string, shard = 0): string => shardPartition(tenant, shard);

// ---- control table: ingest ----

/** The item remembering a dedupe key and the id its entry was stored under. */
export const dedupeItemKey = (tenant: string, dedupeKey: string): ControlKey =>
  controlKey(`dedupe#${tenant}#${dedupeKey}`, 'dedupe');

/** An Idempotency-Key's claim (the key is stored as its digest). */
export const idempotencyItemKey = (tenant: string, digest: string): ControlKey =>
  controlKey(`idem#${tenant}#${digest}`, 'idem');

// ---- control table: rollup counters ----

const pad = (value: number): string => String(value).padStart(8, '0');

/**
 * The partition of one counter scope's items (all buckets, the shards of counter partition
 * `part`). A hot tenant's counters spread over `k` partitions (`p<part>#` after the tenant; the
 * scope kinds `all`, `a#`, `u#` cannot be mistaken for it); part 0 is the scope's own.
 */
export const counterPartition = (tenant: string, scope: CounterScope, part = 0): string => {
  const base = part === 0 ? `count#${tenant}#` : `count#${tenant}#p${part}#`;
  switch (scope.kind) {
    case 'all':
      return `${base}all`;
    case 'action':
      return `${base}a#${scope.action}`;
    case 'actor':
      return `${base}u#${scope.actor}`;
  }
};

/** The counter partition a counter shard lives in: shards 0–7 in part 0, 8–15 in part 1, … */
export const counterPart = (shard: number): number => Math.floor(shard / COUNTER_SHARDS);

/** The sort key prefix of a bucket's shards; "~" after it sorts past every shard (digits). */
export const counterBucketPrefix = (bucket: CounterBucket): string => {
  switch (bucket.unit) {
    case 'total':
      return 't#';
    case 'day':
      return `d#${pad(bucket.index)}#`;
    case 'hour':
      return `h#${pad(bucket.index)}#`;
  }
};

/** The bucket a counter item's sort key names (its day or hour number; 0 for the total). */
export const counterBucketIndex = (sortKey: string): number => Number(sortKey.split('#')[1] ?? 0);

/** A counter item's key: its scope's partition, its bucket and shard. */
export const counterItemKey = (counter: CounterId): ControlKey =>
  controlKey(
    counterPartition(counter.tenant, counter.scope, counterPart(counter.shard)),
    `${counterBucketPrefix(counter.bucket)}${counter.shard}`,
  );

/** Every counter partition of a tenant starts with this (checks and repairs scan by it). */
export const tenantCounterPrefix = (tenant: string): string => `count#${tenant}#`;

// ---- control table: tenants ----

/** Every tenant is one item in this partition, so the scheduler lists them with a Query. */
export const TENANTS_PARTITION = 'tenants';
export const tenantSettingsKey = (tenant: string): ControlKey => controlKey(TENANTS_PARTITION, tenant);

/** The partition of a tenant's own items: its credentials' tenant copies and its export jobs. */
export const tenantPartition = (tenant: string): string => `tenant#${tenant}`;

// ---- control table: credentials (tokens `token`, kore apps `koreapp`) ----

/** A credential under its lookup value (what a request resolves). */
export const credentialLookupKey = (kind: string, lookup: string): ControlKey =>
  controlKey(`${kind}#${lookup}`, kind);

/** A credential under its tenant (what listing and revoking read). */
export const credentialTenantKey = (kind: string, tenant: string, id: string): ControlKey =>
  controlKey(tenantPartition(tenant), `${kind}#${id}`);

/** The sort key prefix of a tenant's credentials of one kind. */
export const credentialPrefix = (kind: string): string => `${kind}#`;

// ---- control table: export jobs and plans ----

/** Export job items' sort key prefix (`export#<jobId>`): job ids sort by creation time. */
export const EXPORT_JOB_PREFIX = 'export#';
export const exportJobKey = (tenant: string, jobId: string): ControlKey =>
  controlKey(tenantPartition(tenant), `${EXPORT_JOB_PREFIX}${jobId}`);

/** The tenant's export slot: names the one job that may run (sk outside the `export#` range). */
export const exportSlotKey = (tenant: string): ControlKey =>
  controlKey(tenantPartition(tenant), 'export-slot');

/** A parallel export's chunk records: outside the `export#` range, so `latest()` never sees them. */
export const exportChunkPrefix = (jobId: string): string => `exportchunk#${jobId}#`;
export const exportChunkKey = (tenant: string, jobId: string, index: number): ControlKey =>
  controlKey(tenantPartition(tenant), `${exportChunkPrefix(jobId)}${String(index).padStart(5, '0')}`);

// ---- control table: purge jobs ----

/** The partition of a tenant's purge jobs, lock, segment intents and counted markers. */
export const purgePartition = (tenant: string): string => `purge#${tenant}`;
export const purgeJobKey = (tenant: string, jobId: string): ControlKey =>
  controlKey(purgePartition(tenant), `job#${jobId}`);
/** Later runs of job `jobId` are `job#<jobId>-<run>`; the "-" keeps `pj-12` from matching `pj-123`. */
export const purgeLaterRunsPrefix = (jobId: string): string => `job#${jobId}-`;
/** The tenant's purge lock: names the one running job. */
export const purgeLockKey = (tenant: string): ControlKey => controlKey(purgePartition(tenant), 'active');
/** The segment a job is deleting (its ids, counter decrements and the checkpoint after it). */
export const purgeIntentKey = (tenant: string, jobId: string): ControlKey =>
  controlKey(purgePartition(tenant), `intent#${jobId}`);
/** Marks one chunk of a segment's counter decrements as applied. */
export const purgeCountedKey = (tenant: string, jobId: string, segment: number, chunk: number): ControlKey =>
  controlKey(purgePartition(tenant), `counted#${jobId}#${segment}#${chunk}`);

// ---- control table: bulk seeding ----

/** The marker a bulk seed of the tenant keeps while it runs. */
export const seedMarkerKey = (tenant: string): ControlKey => controlKey(`seed#${tenant}`, 'run');

// ---- control table: the write path ----

/** Every id slot lives in this one partition, read in one query by a starting writer. */
export const ID_SLOTS_PARTITION = 'idslots';
/** One id slot's reservation. */
export const idSlotKey = (slot: number): ControlKey =>
  controlKey(ID_SLOTS_PARTITION, `slot#${String(slot).padStart(4, '0')}`);

/** The journal entry a derivation step wrote for the chunk (or alias) starting at a stream record. */
export const journalKey = (step: string, eventId: string): ControlKey =>
  controlKey(`journal#${step}#${eventId}`, 'journal');

/** A tenant's write-shard plans (lambdas/domain/hot-shards.ts), one item each, sorted by effect. */
export const shardPlanPartition = (tenant: string): string => `shardplan#${tenant}`;
export const shardPlanKey = (tenant: string, from: number): ControlKey =>
  controlKey(shardPlanPartition(tenant), `from#${String(from).padStart(15, '0')}`);

/** Where the local stream consumer left a shard (Lambda's event source mapping keeps its own). */
export const streamCheckpointKey = (shardId: string): ControlKey =>
  controlKey(`streampos#${shardId}`, 'streampos');

// ---- control table: the verifiable log ----

/** The partition of a tenant's tree: its head (with its latest checkpoint), tiles and receipts. */
const tlogPartition = (tenant: string): string => `tlog#${tenant}`;

/** A tenant's tree head (size and root), with the latest signed checkpoint (`note`, `noteSize`). */
export const tlogHeadKey = (tenant: string): ControlKey => controlKey(tlogPartition(tenant), 'head');

/** One hash tile of a tenant's tree (C2SP tile level and index), full or partial, in one item (the first layout). */
export const tlogTileKey = (tenant: string, level: number, index: number): ControlKey =>
  controlKey(tlogPartition(tenant), `tile#${level}#${String(index).padStart(12, '0')}`);

/** Hashes per strip (the second layout): a tile stored as up to four strips of 64 hashes (2 KB each). */
export const TLOG_TILE_STRIP = 64;

/**
 * One strip of a tile, as the second layout wrote it: hashes `strip`·64 to `strip`·64 + 63 of tile
 * (level, index), rewritten by each append that grew it; its sort key extends the tile's own, so
 * one Query on the tile's key reads the tile whichever layout wrote it.
 */
export const tlogTileStripKey = (tenant: string, level: number, index: number, strip: number): ControlKey =>
  controlKey(tlogPartition(tenant), `${tlogTileKey(tenant, level, index).sk}#${strip}`);

/**
 * The hashes one append added to tile (level, index), from hash `from` on: each append writes only
 * what it added, one item per tile it grew, and never rewrites an item. Its sort key extends the
 * tile's own (`+` sets it apart from a strip's number), so the same Query reads it with the rest.
 */
export const tlogTileRunKey = (tenant: string, level: number, index: number, from: number): ControlKey =>
  controlKey(
    tlogPartition(tenant),
    `${tlogTileKey(tenant, level, index).sk}#+${String(from).padStart(3, '0')}`,
  );

/**
 * A tenant's latest signed checkpoint, as the layouts before this one kept it (an item of its own);
 * the head item now holds it, so a chunk's transaction writes one item fewer.
 */
export const tlogCheckpointKey = (tenant: string): ControlKey =>
  controlKey(tlogPartition(tenant), 'checkpoint');

/** A purge segment's signed receipt, in the tenant's tree partition (sorted: oldest first). */
export const tlogReceiptKey = (tenant: string, receiptId: string): ControlKey =>
  controlKey(tlogPartition(tenant), `receipt#${receiptId}`);

/** The partition and sort-key prefix of a tenant's purge receipts. */
export const tlogReceiptPrefix = (tenant: string): { pk: string; prefix: string } => ({
  pk: tlogPartition(tenant),
  prefix: 'receipt#',
});

/**
 * Entry ids per leaf-index item: 2¹⁶ ids are 64 ms of entry time (an id is ms × 1024 + sequence),
 * so a chunk's entries, written moments apart, share one or two items.
 */
export const TLOG_LEAF_BUCKET_IDS = 2 ** 16;

/**
 * The item holding the leaf indexes the sequencer gave a tenant's entries of one 64 ms id bucket,
 * one attribute per chunk that appended some of them (`tlogLeafRunAttribute`), or per entry as
 * the first layout wrote them (`tlogLeafAttribute`); its own partition, so buckets spread evenly.
 */
export const tlogLeafBucketKey = (tenant: string, entryId: number): ControlKey =>
  controlKey(`tlogleaf#${tenant}#${Math.floor(entryId / TLOG_LEAF_BUCKET_IDS)}`, 'leaves');

/** The attribute of `entryId`'s leaf index in its bucket item, as the first layout wrote it. */
export const tlogLeafAttribute = (entryId: number): string => `i${entryId % TLOG_LEAF_BUCKET_IDS}`;

/** What starts the name of every run attribute of a bucket item (and of no per-entry one). */
export const TLOG_LEAF_RUN_PREFIX = 'r';

/**
 * The attribute holding one chunk's leaf indexes in a bucket item, named by the least of them (a
 * leaf index is given once, so no two chunks share a name): one attribute set by one short update
 * expression, not one per entry (DynamoDB parses each `SET` clause).
 */
export const tlogLeafRunAttribute = (firstLeaf: number): string => `${TLOG_LEAF_RUN_PREFIX}${firstLeaf}`;
