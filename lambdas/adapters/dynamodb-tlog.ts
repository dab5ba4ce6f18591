import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { InvariantError } from '../domain/errors.js';
import { parseShardPartition } from '../domain/hot-shards.js';
import { entryLeafHash } from '../domain/tlog/entry-leaf.js';
import type { CompactRange, Hash } from '../domain/tlog/merkle.js';
import {
  appendToTiles,
  type GrownTile,
  mostTilesGrownBy,
  TILE_WIDTH,
  type TiledAppend,
  type TileReader,
  tilesGrownBy,
} from '../domain/tlog/tiles.js';
import type { ChangeRecord, ChunkPacker, DerivationStep, JournalEntry } from '../ports/derivation.js';
import type {
  CheckpointWriter,
  CommittedHead,
  ReceiptWriter,
  StoredCheckpoint,
  TlogReader,
  TreeHead,
} from '../ports/tlog.js';
import { type BackoffPolicy, backoffDelay, DEFAULT_BACKOFF, isThrottle } from './backoff.js';
import { batchGetAll } from './dynamodb-batch-get.js';
import { MAX_TRANSACTION_ITEMS, type TransactItem } from './dynamodb-counters.js';
import { type JointStep, journalPut, type StagedJointWrites } from './dynamodb-derivation.js';
import {
  type ControlKey,
  TLOG_LEAF_BUCKET_IDS,
  TLOG_LEAF_RUN_PREFIX,
  TLOG_TILE_STRIP,
  tlogCheckpointKey,
  tlogHeadKey,
  tlogLeafAttribute,
  tlogLeafBucketKey,
  tlogLeafRunAttribute,
  tlogReceiptKey,
  tlogReceiptPrefix,
  tlogTileKey,
  tlogTileRunKey,
} from './dynamodb-keys.js';
import { itemToRecord } from './dynamodb-records.js';
import { CONTROL_KEYS, EVENTS_KEYS } from './table-definitions.js';

/**
 * A chunk whose retry staged more items than its packing counted (another consumer appended to a
 * tenant's log, so the append grows more tiles): the delivery stops before it, and the retry packs
 * it again, counting from what it now knows.
 */
const outgrown = (items: number): Error =>
  new Error(
    `a chunk's transaction outgrew DynamoDB's ${MAX_TRANSACTION_ITEMS} items (${items}) after its state moved; the delivery is retried from it`,
  );

/** A chunk's writes, staged for its transaction. */
interface StagedWrites {
  readonly writes: readonly TransactItem[];
  /** Told once the transaction holding `writes` committed. */
  committed(): void;
}

const bytes = (value: unknown): Uint8Array | undefined => (value instanceof Uint8Array ? value : undefined);

/** The tenant and id of an entry a stream record inserted, and its leaf hash once asked for. */
interface InsertedEntry {
  readonly tenant: string;
  readonly id: number;
  leaf?: Hash;
}

/**
 * Each stream record's entry, worked out once (packers, staging and checkpoints all ask): only its
 * tenant, id and leaf are kept, so the whole record is built once, for its leaf, and dies young.
 */
const entries = new WeakMap<ChangeRecord, InsertedEntry | null>();

const sequenced = (record: ChangeRecord): InsertedEntry | null => {
  let known = entries.get(record);
  if (known === undefined) {
    const image = record.kind === 'insert' ? record.newImage : undefined;
    const id = image?.[EVENTS_KEYS.sort];
    const partition = image?.[EVENTS_KEYS.partition];
    const whole = typeof image?.hash === 'string' && typeof image.timestamp === 'number';
    known =
      whole && typeof id === 'number' && typeof partition === 'string'
        ? // A hot tenant's write shard names the tenant with its shard in the partition key.
          { tenant: parseShardPartition(partition).tenant, id }
        : null;
    entries.set(record, known);
  }
  return known;
};

/** The tenant and id of the entry an inserted stream image holds; undefined for anything else. */
export const insertedEntry = (
  record: ChangeRecord,
): { readonly tenant: string; readonly id: number } | undefined => sequenced(record) ?? undefined;

/** The leaf hash of the entry an inserted stream image holds. */
const leafOf = (record: ChangeRecord): Hash | undefined => {
  const known = sequenced(record);
  if (!known || !record.newImage) return undefined;
  known.leaf ??= entryLeafHash(itemToRecord(record.newImage));
  return known.leaf;
};

/** Bytes per entry in a leaf-index run: its id within the bucket, its leaf index after the run's first. */
const RUN_ENTRY_BYTES = 4;

/**
 * A chunk's run of leaf indexes in one 64 ms bucket (one attribute of the bucket item per chunk):
 * per entry, big-endian, 2 bytes of its id within the bucket (id mod 2¹⁶) and 2 of its leaf index
 * minus `first` (a chunk holds far fewer than 2¹⁶).
 */
export const encodeLeafRun = (
  entries: readonly { id: number; index: number }[],
  first: number,
): Uint8Array => {
  const run = new Uint8Array(entries.length * RUN_ENTRY_BYTES);
  const view = new DataView(run.buffer);
  for (const [position, { id, index }] of entries.entries()) {
    const offset = index - first;
    if (offset < 0 || offset > 0xffff)
      throw new InvariantError(`leaf ${index} is out of its run from ${first}`);
    view.setUint16(position * RUN_ENTRY_BYTES, id % TLOG_LEAF_BUCKET_IDS);
    view.setUint16(position * RUN_ENTRY_BYTES + 2, offset);
  }
  return run;
};

/** The leaf index a bucket item holds for `entryId` (of that bucket), in either layout. */
export const leafIndexInBucket = (
  item: Readonly<Record<string, unknown>>,
  entryId: number,
): number | undefined => {
  const single = item[tlogLeafAttribute(entryId)];
  if (typeof single === 'number') return single;
  const wanted = entryId % TLOG_LEAF_BUCKET_IDS;
  for (const [name, value] of Object.entries(item)) {
    if (!name.startsWith(TLOG_LEAF_RUN_PREFIX) || !(value instanceof Uint8Array)) continue;
    const first = Number(name.slice(TLOG_LEAF_RUN_PREFIX.length));
    if (!Number.isSafeInteger(first)) continue;
    const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
    for (let at = 0; at + RUN_ENTRY_BYTES <= value.byteLength; at += RUN_ENTRY_BYTES) {
      if (view.getUint16(at) === wanted) return first + view.getUint16(at + 2);
    }
  }
  return undefined;
};

/** The tenant's log in the control table: head, C2SP tiles, checkpoint and leaf indexes. */
export class DynamoDbTlogStore implements TlogReader, CheckpointWriter, ReceiptWriter {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(doc: DynamoDBDocumentClient, options: { readonly controlTable: string }) {
    this.#doc = doc;
    this.#table = options.controlTable;
  }

  async head(tenant: string): Promise<TreeHead | undefined> {
    const output = await this.#doc.send(
      new GetCommand({ TableName: this.#table, Key: tlogHeadKey(tenant), ConsistentRead: true }),
    );
    const root = bytes(output.Item?.root);
    const size = output.Item?.size;
    return root && typeof size === 'number' ? { size, root } : undefined;
  }

  tiles(tenant: string): TileReader {
    return async (level, index, minWidth) => {
      const tileKey = tlogTileKey(tenant, level, index);
      const output = await this.#doc.send(
        new QueryCommand({
          TableName: this.#table,
          KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :sk)',
          ExpressionAttributeNames: { '#pk': CONTROL_KEYS.partition, '#sk': CONTROL_KEYS.sort },
          ExpressionAttributeValues: { ':pk': tileKey.pk, ':sk': tileKey.sk },
          ConsistentRead: true,
        }),
      );
      // The whole tile in one item (the first layout), its strips (the second) and the runs each
      // append added (this one), laid over each other: they hold the same hash wherever they
      // overlap, as the tree only ever grows.
      const parts: { offset: number; hashes: Uint8Array }[] = [];
      for (const item of output.Items ?? []) {
        const hashes = bytes(item.hashes);
        const sk = item[CONTROL_KEYS.sort];
        if (!hashes || typeof sk !== 'string') continue;
        if (sk === tileKey.sk) parts.unshift({ offset: 0, hashes });
        else if (sk.startsWith(`${tileKey.sk}#+`))
          parts.push({ offset: Number(sk.slice(tileKey.sk.length + 2)), hashes });
        else if (sk.startsWith(`${tileKey.sk}#`))
          parts.push({ offset: Number(sk.slice(tileKey.sk.length + 1)) * TLOG_TILE_STRIP, hashes });
      }
      const width = Math.max(0, ...parts.map((part) => part.offset + part.hashes.length / 32));
      const hashes = new Uint8Array(width * 32);
      for (const part of parts) hashes.set(part.hashes, part.offset * 32);
      if (width < minWidth || parts.length === 0) {
        throw new InvariantError(
          `tile ${level}/${index} of ${tenant} is missing or shorter than ${minWidth}`,
        );
      }
      return hashes;
    };
  }

  async leafIndexOf(tenant: string, entryId: number): Promise<number | undefined> {
    return (await this.leafIndexesOf(tenant, [entryId])).get(entryId);
  }

  async leafIndexesOf(tenant: string, entryIds: readonly number[]): Promise<Map<number, number>> {
    // Entries of one 64 ms bucket share an item: read each bucket once, 100 buckets a call.
    const buckets = new Map<string, { key: ControlKey; ids: number[] }>();
    for (const id of new Set(entryIds)) {
      const key = tlogLeafBucketKey(tenant, id);
      const name = String(key[CONTROL_KEYS.partition]);
      const bucket = buckets.get(name) ?? { key, ids: [] };
      bucket.ids.push(id);
      buckets.set(name, bucket);
    }
    const items = await batchGetAll(
      this.#doc,
      this.#table,
      [...buckets.values()].map(({ key }) => key),
      { concurrency: 4 },
    );
    const indexes = new Map<number, number>();
    for (const item of items) {
      for (const id of buckets.get(String(item[CONTROL_KEYS.partition]))?.ids ?? []) {
        const index = leafIndexInBucket(item, id);
        if (index !== undefined) indexes.set(id, index);
      }
    }
    return indexes;
  }

  async latestCheckpoint(tenant: string): Promise<StoredCheckpoint | undefined> {
    const head = await this.#doc.send(
      new GetCommand({ TableName: this.#table, Key: tlogHeadKey(tenant), ConsistentRead: true }),
    );
    const { noteSize, note } = head.Item ?? {};
    if (typeof noteSize === 'number' && typeof note === 'string') return { size: noteSize, note };
    // A log whose head holds no checkpoint yet: the item of its own the layouts before kept it in.
    const output = await this.#doc.send(
      new GetCommand({ TableName: this.#table, Key: tlogCheckpointKey(tenant), ConsistentRead: true }),
    );
    const { size, note: stored } = output.Item ?? {};
    return typeof size === 'number' && typeof stored === 'string' ? { size, note: stored } : undefined;
  }

  async *receipts(tenant: string, jobId?: string): AsyncGenerator<string[]> {
    const { pk, prefix } = tlogReceiptPrefix(tenant);
    let start: Record<string, unknown> | undefined;
    do {
      const output = await this.#doc.send(
        new QueryCommand({
          TableName: this.#table,
          KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
          ExpressionAttributeNames: { '#pk': CONTROL_KEYS.partition, '#sk': CONTROL_KEYS.sort },
          ExpressionAttributeValues: {
            ':pk': pk,
            ':prefix': jobId === undefined ? prefix : `${prefix}${jobId}#`,
          },
          ConsistentRead: true,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      const page: string[] = [];
      for (const item of output.Items ?? []) if (typeof item.note === 'string') page.push(item.note);
      if (page.length > 0) yield page;
      start = output.LastEvaluatedKey;
    } while (start);
  }

  async saveReceipt(tenant: string, receiptId: string, receipt: string): Promise<void> {
    await this.#doc.send(
      new PutCommand({
        TableName: this.#table,
        Item: { ...tlogReceiptKey(tenant, receiptId), note: receipt },
      }),
    );
  }

  async saveCheckpoint(tenant: string, checkpoint: StoredCheckpoint): Promise<void> {
    try {
      await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: tlogHeadKey(tenant),
          UpdateExpression: 'SET #note = :note, #noteSize = :size',
          // Only on a head (an update must never make a head without a tree: the first append
          // would then fail its condition forever) and never over a later checkpoint.
          ConditionExpression:
            'attribute_exists(#pk) AND (attribute_not_exists(#noteSize) OR #noteSize < :size)',
          ExpressionAttributeNames: {
            '#pk': CONTROL_KEYS.partition,
            '#note': 'note',
            '#noteSize': 'noteSize',
          },
          ExpressionAttributeValues: { ':size': checkpoint.size, ':note': checkpoint.note },
        }),
      );
    } catch (error) {
      // A checkpoint of this size or later is stored already: nothing to do.
      if ((error as { name?: string }).name !== 'ConditionalCheckFailedException') throw error;
    }
  }
}

/**
 * Records in one of the sequencer's chunks at most: a whole delivery of the deployed event source
 * mapping (lib/parts/defaults.ts), so a chunk's appends cost each tenant one head update and the
 * transaction's fixed cost is paid once per delivery, not once per 100 records.
 */
const SEQUENCER_CHUNK_RECORDS = 500;

/** Tenants whose last append a consumer remembers (a bound on its memory). */
const MAX_KNOWN_TENANTS = 10_000;

/** What one tenant's part of a chunk appends. */
interface TenantAppend {
  readonly tenant: string;
  readonly oldSize: number;
  readonly entryIds: readonly number[];
  readonly leaves: readonly Hash[];
}

/** What a consumer last committed for a tenant: its head and the right-edge tiles it wrote. */
interface KnownTree {
  readonly size: number;
  readonly root: Hash;
  readonly tiles: Map<string, Uint8Array>;
  /** The tree's right edge, so the next append need not recompute it from the tiles. */
  readonly edge: CompactRange;
  /** Whether the commit stored a signed checkpoint of this head too. */
  readonly checkpointed: boolean;
}

/** Signs each chunk's new heads into its transaction (see TLOG_CHECKPOINT_INTERVAL_MS). */
export interface ChunkCheckpoints {
  /** The signed checkpoint note of a tenant's tree head. */
  sign(tenant: string, head: TreeHead): Promise<string>;
  /** The least time between two checkpoints of a tenant signed into a chunk's transaction. */
  readonly intervalMs: number;
}

/**
 * The tenants and leaf-index buckets of a chunk's inserted entries: what its transaction holds.
 * A tenant's tiles are counted exactly from the size its tree will have when the chunk appends
 * (`knownSize`: what this consumer last committed), else at their most: counting five for every
 * tenant made a chunk of four tenants' entries reserve 24 items it seldom used, and the counters
 * then went out in half again as many transactions.
 */
const appendItemCounter = (knownSize: (tenant: string) => number | undefined) => {
  const tenants = new Map<string, { count: number; reserved: number }>();
  const buckets = new Set<string>();
  return {
    add: (record: ChangeRecord): number => {
      const entry = insertedEntry(record);
      if (!entry) return 0;
      const part = tenants.get(entry.tenant) ?? { count: 0, reserved: 0 };
      part.count += 1;
      // The head (with the checkpoint signed into the transaction) and the tiles the append grows.
      const size = knownSize(entry.tenant);
      const reserved =
        1 + (size === undefined ? mostTilesGrownBy(part.count) : tilesGrownBy(size, part.count));
      let items = reserved - part.reserved;
      part.reserved = reserved;
      tenants.set(entry.tenant, part);
      const bucket = tlogLeafBucketKey(entry.tenant, entry.id).pk;
      if (!buckets.has(bucket)) items += 1;
      buckets.add(bucket);
      return items;
    },
  };
};

/**
 * How long a tenant whose commit failed (another consumer appended to it, or a conflict) has its
 * tiles counted at their most: its next chunks may stage from a head this consumer did not commit.
 */
const CONTENDED_MS = 60_000;

/**
 * The sequencer: gives each newly inserted entry the next leaf index of its tenant's tree, exactly
 * once, and stores the tree's new hashes and the entries' leaf indexes. Its writes for a chunk are
 * one transaction with its journal entry. It is a step of its own, beside the counters, with chunks
 * of its own: a whole delivery costs each tenant one head update and the delivery one transaction
 * (inside the counters' transactions, whose chunks their many counter items keep small, its items
 * cut those chunks smaller still and were paid once per chunk). Each tenant's head is conditioned
 * on the size it was read at, so a redelivered or bisected batch never appends twice (the journal
 * says so) and two consumers (two stream shards holding the same tenant) never give one index
 * twice (the condition fails and the loser reads the new head and tries again). A consumer keeps
 * the head and right-edge tiles it last committed per tenant and trusts them on the first attempt
 * (the head condition checks them), so a chunk usually reads nothing.
 */
export class DynamoDbSequencerStep implements DerivationStep, JointStep {
  readonly name = 'tlog';
  readonly maxChunkRecords = SEQUENCER_CHUNK_RECORDS;
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #store: DynamoDbTlogStore;
  readonly #clock: () => number;
  readonly #random: () => number;
  readonly #backoff: BackoffPolicy;
  readonly #known = new Map<string, KnownTree>();
  readonly #checkpoints: ChunkCheckpoints | undefined;
  /** When this consumer last committed a checkpoint per tenant. */
  readonly #checkpointedAt = new Map<string, number>();
  /** When a commit of this consumer last failed per tenant (see CONTENDED_MS). */
  readonly #contendedAt = new Map<string, number>();

  constructor(
    doc: DynamoDBDocumentClient,
    options: {
      readonly controlTable: string;
      readonly clock?: () => number;
      readonly random?: () => number;
      readonly backoff?: BackoffPolicy;
      /** Sign each chunk's new heads into its transaction (no extra request for a checkpoint). */
      readonly checkpoints?: ChunkCheckpoints;
    },
  ) {
    this.#checkpoints = options.checkpoints;
    this.#doc = doc;
    this.#table = options.controlTable;
    this.#store = new DynamoDbTlogStore(doc, options);
    this.#clock = options.clock ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.#backoff = options.backoff ?? DEFAULT_BACKOFF;
  }

  /** The head this consumer last committed for `tenant`, if it remembers one. */
  committedHead(tenant: string): CommittedHead | undefined {
    const known = this.#known.get(tenant);
    return known
      ? { head: { size: known.size, root: known.root }, checkpointed: known.checkpointed }
      : undefined;
  }

  /** What a chunk of these records costs its transaction, record by record (what the packer counts). */
  counter(): { add(record: ChangeRecord): number } {
    return appendItemCounter((tenant) => this.#sizeToCount(tenant));
  }

  packer(): ChunkPacker {
    const counter = this.counter();
    let items = 0;
    return {
      add: (record) => {
        const more = counter.add(record);
        if (items + more > MAX_TRANSACTION_ITEMS - 1) return false;
        items += more;
        return true;
      },
    };
  }

  /**
   * A chunk's writes. `attempt` is 1, then higher after a failed commit (the heads are then read
   * again: another consumer may have moved them).
   */
  async #stage(chunk: readonly ChangeRecord[], attempt: number): Promise<StagedWrites> {
    const byTenant = new Map<string, { entryIds: number[]; leaves: Hash[] }>();
    for (const record of chunk) {
      const inserted = insertedEntry(record);
      const leaf = leafOf(record);
      if (!inserted || !leaf) continue;
      const part = byTenant.get(inserted.tenant) ?? { entryIds: [], leaves: [] };
      part.entryIds.push(inserted.id);
      part.leaves.push(leaf);
      byTenant.set(inserted.tenant, part);
    }
    // The first attempt trusts what this consumer itself last committed for the tenant (its head
    // and tiles): when another consumer appended since, the head condition fails and the retry
    // reads the store.
    const trusted = attempt === 1;
    const appends: TenantAppend[] = await Promise.all(
      [...byTenant].map(async ([tenant, part]) => ({
        tenant,
        oldSize:
          (trusted ? this.#known.get(tenant)?.size : undefined) ??
          (await this.#store.head(tenant))?.size ??
          0,
        ...part,
      })),
    );
    const grown = await Promise.all(appends.map((append) => this.#grow(append, trusted)));
    const checkpoints = await Promise.all(
      appends.map((append, position) => this.#checkpointNote(append.tenant, grown[position])),
    );
    return {
      writes: appends.flatMap((append, position) =>
        this.#appendWrites(append, grown[position] as TiledAppend, checkpoints[position]),
      ),
      committed: () => {
        const now = this.#clock();
        for (const [position, append] of appends.entries()) {
          if (!checkpoints[position]) continue;
          if (this.#checkpointedAt.size > MAX_KNOWN_TENANTS) this.#checkpointedAt.clear();
          this.#checkpointedAt.set(append.tenant, now);
        }
        this.#remember(
          appends,
          grown,
          checkpoints.map((one) => one !== undefined),
          trusted,
        );
      },
    };
  }

  /** Forgets what this consumer knew of the chunk's tenants after a commit that did not happen. */
  #failed(chunk: readonly ChangeRecord[]): void {
    const now = this.#clock();
    for (const record of chunk) {
      const tenant = insertedEntry(record)?.tenant;
      if (tenant === undefined) continue;
      this.#known.delete(tenant);
      if (this.#contendedAt.size > MAX_KNOWN_TENANTS) this.#contendedAt.clear();
      this.#contendedAt.set(tenant, now);
    }
  }

  /**
   * The size a chunk's tiles are counted from (exactly what its first attempt stages from), or
   * undefined to count them at their most: a tenant this consumer does not remember, or one whose
   * commit failed lately (a retry stages from the stored head, which may have moved).
   */
  #sizeToCount(tenant: string): number | undefined {
    const contended = this.#contendedAt.get(tenant);
    if (contended !== undefined && this.#clock() - contended < CONTENDED_MS) return undefined;
    return this.#known.get(tenant)?.size;
  }

  /** The chunk's appends and its journal entry, for a joint commit (from what this consumer knows). */
  async stageJoint(chunk: readonly ChangeRecord[], entry: JournalEntry): Promise<StagedJointWrites> {
    const staged = await this.#stage(chunk, 1);
    return {
      writes: [journalPut(this.#table, entry, this.#clock()), ...staged.writes],
      committed: () => staged.committed(),
      failed: () => this.#failed(chunk),
    };
  }

  /** The chunk's appends and its journal entry, in one transaction. */
  async apply(chunk: readonly ChangeRecord[], entry: JournalEntry): Promise<'applied' | 'duplicate'> {
    const journal = journalPut(this.#table, entry, this.#clock());
    for (let attempt = 1; ; attempt += 1) {
      try {
        const staged = await this.#stage(chunk, attempt);
        const items = [journal, ...staged.writes];
        if (items.length > MAX_TRANSACTION_ITEMS) throw outgrown(items.length);
        await this.#doc.send(new TransactWriteCommand({ TransactItems: items }));
        staged.committed();
        return 'applied';
      } catch (error) {
        this.#failed(chunk);
        const reasons =
          error instanceof TransactionCanceledException ? (error.CancellationReasons ?? []) : [];
        if (reasons[0]?.Code === 'ConditionalCheckFailed') return 'duplicate';
        // A head moved (another shard's consumer appended to the tenant), a conflict, a throttle:
        // read the heads again and retry.
        const retryable =
          isThrottle(error) ||
          reasons.some(
            (reason) => reason.Code === 'TransactionConflict' || reason.Code === 'ConditionalCheckFailed',
          );
        if (!retryable || attempt >= this.#backoff.maxAttempts) throw error;
        await backoffDelay(this.#backoff, attempt, this.#random);
      }
    }
  }

  /**
   * The checkpoint note of a tenant's new head, signed into the chunk's transaction when due (on
   * the head item). Stored only if the head commits: a signature of a tree that is not committed
   * never leaves the rejected request.
   */
  async #checkpointNote(
    tenant: string,
    grown: { readonly size: number; readonly root: Hash } | undefined,
  ): Promise<string | undefined> {
    const checkpoints = this.#checkpoints;
    if (!checkpoints || !grown) return undefined;
    const last = this.#checkpointedAt.get(tenant);
    if (last !== undefined && this.#clock() - last < checkpoints.intervalMs) return undefined;
    return checkpoints.sign(tenant, { size: grown.size, root: grown.root });
  }

  /** Keeps each tenant's new head and the tiles just written, for this consumer's next chunk. */
  #remember(
    appends: readonly TenantAppend[],
    grown: readonly {
      readonly size: number;
      readonly root: Hash;
      readonly tiles: readonly GrownTile[];
      readonly edge: CompactRange;
    }[],
    checkpointed: readonly boolean[],
    trusted: boolean,
  ): void {
    if (this.#known.size > MAX_KNOWN_TENANTS) this.#known.clear();
    for (const [position, append] of appends.entries()) {
      const result = grown[position];
      if (!result) continue;
      const tiles = (trusted && this.#known.get(append.tenant)?.tiles) || new Map<string, Uint8Array>();
      for (const tile of result.tiles) tiles.set(`${tile.level}/${tile.index}`, tile.hashes);
      // Only the right edge is ever read again by an append: drop full tiles left behind.
      for (const [key, hashes] of tiles)
        if (hashes.length === TILE_WIDTH * 32 && tiles.size > 8) tiles.delete(key);
      this.#known.set(append.tenant, {
        size: result.size,
        root: result.root,
        tiles,
        edge: result.edge,
        checkpointed: checkpointed[position] ?? false,
      });
    }
  }

  /** Reads a tenant's tiles, from what this consumer last wrote when `trusted`, else from the store. */
  #tiles(tenant: string, trusted: boolean): TileReader {
    const stored = this.#store.tiles(tenant);
    return async (level, index, minWidth) => {
      const known = trusted ? this.#known.get(tenant)?.tiles.get(`${level}/${index}`) : undefined;
      return known && known.length >= minWidth * 32 ? known : stored(level, index, minWidth);
    };
  }

  /** One tenant's append on its tiles: the new head, the tiles it grew and the new right edge. */
  #grow(append: TenantAppend, trusted: boolean): Promise<TiledAppend> {
    return appendToTiles(
      this.#tiles(append.tenant, trusted),
      append.oldSize,
      append.leaves,
      trusted ? this.#known.get(append.tenant)?.edge : undefined,
    );
  }

  /**
   * One tenant's append: the head conditioned on the size it was read at (with the new checkpoint
   * when one is due: the head item holds the latest), the hashes the tiles gained, and the
   * entries' leaf indexes (one attribute per 64 ms bucket item: the chunk's run there).
   */
  #appendWrites(append: TenantAppend, grown: TiledAppend, note: string | undefined): TransactItem[] {
    // An update, not a put: a chunk that signs no checkpoint keeps the one the head holds.
    const head: TransactItem = {
      Update: {
        TableName: this.#table,
        Key: tlogHeadKey(append.tenant),
        UpdateExpression: `SET #size = :size, #root = :root${note === undefined ? '' : ', #note = :note, #noteSize = :size'}`,
        ConditionExpression: append.oldSize === 0 ? 'attribute_not_exists(#size)' : '#size = :old',
        ExpressionAttributeNames: {
          '#size': 'size',
          '#root': 'root',
          ...(note === undefined ? {} : { '#note': 'note', '#noteSize': 'noteSize' }),
        },
        ExpressionAttributeValues: {
          ':size': grown.size,
          ':root': grown.root,
          ...(append.oldSize === 0 ? {} : { ':old': append.oldSize }),
          ...(note === undefined ? {} : { ':note': note }),
        },
      },
    };
    // Only the hashes the append added: one item per tile it grew, from the tile's old width on
    // (no strip rewritten, so a 100-entry chunk writes one or two items and 3 KB at level 0).
    const tiles: TransactItem[] = grown.tiles.map((tile) => ({
      Put: {
        TableName: this.#table,
        Item: {
          ...tlogTileRunKey(append.tenant, tile.level, tile.index, tile.oldWidth),
          width: tile.width - tile.oldWidth,
          hashes: tile.hashes.subarray(tile.oldWidth * 32, tile.width * 32),
        },
      },
    }));
    // One attribute per 64 ms bucket: the chunk's run of leaf indexes there (see encodeLeafRun).
    const buckets = new Map<
      string,
      { key: ControlKey; first: number; entries: { id: number; index: number }[] }
    >();
    for (const [offset, id] of append.entryIds.entries()) {
      const key = tlogLeafBucketKey(append.tenant, id);
      const index = append.oldSize + offset;
      const bucket = buckets.get(key.pk) ?? { key, first: index, entries: [] };
      bucket.entries.push({ id, index });
      buckets.set(key.pk, bucket);
    }
    const indexes: TransactItem[] = [...buckets.values()].map(({ key, first, entries }) => ({
      Update: {
        TableName: this.#table,
        Key: key,
        UpdateExpression: 'SET #r = :r',
        ExpressionAttributeNames: { '#r': tlogLeafRunAttribute(first) },
        ExpressionAttributeValues: { ':r': encodeLeafRun(entries, first) },
      },
    }));
    return [head, ...tiles, ...indexes];
  }
}
