import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { InvariantError } from '../domain/errors.js';
import type { AuditRecord } from '../domain/record.js';
import { entryLeafHash } from '../domain/tlog/entry-leaf.js';
import type { Hash } from '../domain/tlog/merkle.js';
import { appendToTiles, TILE_WIDTH, type Tile, type TileReader } from '../domain/tlog/tiles.js';
import type { ChangeRecord, ChunkPacker, DerivationStep, JournalEntry } from '../ports/derivation.js';
import type {
  CheckpointWriter,
  ReceiptWriter,
  StoredCheckpoint,
  TlogReader,
  TreeHead,
} from '../ports/tlog.js';
import { type BackoffPolicy, backoffDelay, DEFAULT_BACKOFF, isThrottle } from './backoff.js';
import { batchWriteAll } from './dynamodb-batch-write.js';
import {
  journalKey,
  tlogCheckpointKey,
  tlogHeadKey,
  tlogLeafIndexKey,
  tlogReceiptKey,
  tlogReceiptPrefix,
  tlogTileKey,
} from './dynamodb-keys.js';
import { itemToRecord } from './dynamodb-records.js';
import { CONTROL_KEYS, EVENTS_KEYS } from './table-definitions.js';

/** Journal entries outlive the stream's 24-hour retention (as the counter step's do). */
const JOURNAL_LIFETIME_SECONDS = 2 * 86_400;

const bytes = (value: unknown): Uint8Array | undefined => (value instanceof Uint8Array ? value : undefined);

/** The entry an inserted stream image holds; undefined for anything else. */
export const insertedEntry = (record: ChangeRecord): AuditRecord | undefined => {
  const image = record.kind === 'insert' ? record.newImage : undefined;
  if (!image) return undefined;
  if (typeof image[EVENTS_KEYS.sort] !== 'number' || typeof image.hash !== 'string') return undefined;
  if (typeof image.tenant !== 'string' || typeof image.timestamp !== 'number') return undefined;
  return itemToRecord({ ...image });
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
      const output = await this.#doc.send(
        new GetCommand({
          TableName: this.#table,
          Key: tlogTileKey(tenant, level, index),
          ConsistentRead: true,
        }),
      );
      const hashes = bytes(output.Item?.hashes);
      if (!hashes || hashes.length < minWidth * 32) {
        throw new InvariantError(
          `tile ${level}/${index} of ${tenant} is missing or shorter than ${minWidth}`,
        );
      }
      return hashes;
    };
  }

  async leafIndexOf(tenant: string, entryId: number): Promise<number | undefined> {
    const output = await this.#doc.send(
      new GetCommand({
        TableName: this.#table,
        Key: tlogLeafIndexKey(tenant, entryId),
        ConsistentRead: true,
      }),
    );
    const index = output.Item?.index;
    return typeof index === 'number' ? index : undefined;
  }

  async leafIndexesOf(tenant: string, entryIds: readonly number[]): Promise<(number | undefined)[]> {
    const byKey = new Map<string, number>();
    const keyOf = (key: Record<string, unknown>) =>
      `${key[CONTROL_KEYS.partition] as string}\u0000${key[CONTROL_KEYS.sort] as string}`;
    for (let start = 0; start < entryIds.length; start += 100) {
      let keys: Record<string, unknown>[] = [
        ...new Map(
          entryIds.slice(start, start + 100).map((id) => {
            const key = tlogLeafIndexKey(tenant, id) as unknown as Record<string, unknown>;
            return [keyOf(key), key] as const;
          }),
        ).values(),
      ];
      for (let attempt = 1; keys.length > 0; attempt += 1) {
        const output = await this.#doc.send(
          new BatchGetCommand({
            RequestItems: { [this.#table]: { Keys: keys, ConsistentRead: true } },
          }),
        );
        for (const item of output.Responses?.[this.#table] ?? [])
          if (typeof item.index === 'number') byKey.set(keyOf(item), item.index);
        keys = output.UnprocessedKeys?.[this.#table]?.Keys ?? [];
        if (keys.length > 0) {
          if (attempt >= DEFAULT_BACKOFF.maxAttempts)
            throw new InvariantError('leaf index reads kept being refused');
          await backoffDelay(DEFAULT_BACKOFF, attempt, Math.random);
        }
      }
    }
    return entryIds.map((id) =>
      byKey.get(keyOf(tlogLeafIndexKey(tenant, id) as unknown as Record<string, unknown>)),
    );
  }

  async latestCheckpoint(tenant: string): Promise<StoredCheckpoint | undefined> {
    const output = await this.#doc.send(
      new GetCommand({ TableName: this.#table, Key: tlogCheckpointKey(tenant), ConsistentRead: true }),
    );
    const { size, note } = output.Item ?? {};
    return typeof size === 'number' && typeof note === 'string' ? { size, note } : undefined;
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
        new PutCommand({
          TableName: this.#table,
          Item: { ...tlogCheckpointKey(tenant), size: checkpoint.size, note: checkpoint.note },
          ConditionExpression: 'attribute_not_exists(#pk) OR #size < :size',
          ExpressionAttributeNames: { '#pk': CONTROL_KEYS.partition, '#size': 'size' },
          ExpressionAttributeValues: { ':size': checkpoint.size },
        }),
      );
    } catch (error) {
      // A checkpoint of this size or later is stored already: nothing to do.
      if ((error as { name?: string }).name !== 'ConditionalCheckFailedException') throw error;
    }
  }
}

/**
 * Tenants one chunk may append to: each costs its head and at most five tiles (two at level 0 when
 * the chunk crosses a tile boundary, one per level above), so 12 tenants and the journal entry stay
 * within one TransactWriteItems of 100 items.
 */
export const MAX_TENANTS_PER_CHUNK = 12;

/** Tenants whose last append a consumer remembers (a bound on its memory). */
const MAX_KNOWN_TENANTS = 10_000;

/** What one tenant's part of a chunk appends. */
interface TenantAppend {
  readonly tenant: string;
  readonly oldSize: number;
  readonly entryIds: readonly number[];
  readonly leaves: readonly Hash[];
}

/**
 * The sequencer: gives each newly inserted entry the next leaf index of its tenant's tree, exactly
 * once, and stores the tree's new hashes. A chunk's appends for every tenant it touches commit in
 * one transaction with the chunk's journal entry, each head conditioned on the size it was read at,
 * so a redelivered or bisected batch never appends twice (the journal says so) and two consumers
 * (two stream shards holding the same tenant) never give one index twice (the condition fails and
 * the loser reads the new head and tries again). The entry-to-index items are written before the
 * commit with plain writes; they are advisory (see `TlogReader.leafIndexOf`).
 */
export class DynamoDbSequencerStep implements DerivationStep {
  readonly name = 'tlog';
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #store: DynamoDbTlogStore;
  readonly #clock: () => number;
  readonly #random: () => number;
  readonly #backoff: BackoffPolicy;
  /** What this consumer last committed per tenant: its size and the tiles it wrote. */
  readonly #known = new Map<string, { size: number; tiles: Map<string, Uint8Array> }>();

  constructor(
    doc: DynamoDBDocumentClient,
    options: {
      readonly controlTable: string;
      readonly clock?: () => number;
      readonly random?: () => number;
      readonly backoff?: BackoffPolicy;
    },
  ) {
    this.#doc = doc;
    this.#table = options.controlTable;
    this.#store = new DynamoDbTlogStore(doc, options);
    this.#clock = options.clock ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.#backoff = options.backoff ?? DEFAULT_BACKOFF;
  }

  packer(): ChunkPacker {
    const tenants = new Set<string>();
    return {
      add: (record) => {
        const entry = insertedEntry(record);
        if (!entry || tenants.has(entry.tenant)) return true;
        if (tenants.size >= MAX_TENANTS_PER_CHUNK) return false;
        tenants.add(entry.tenant);
        return true;
      },
    };
  }

  async apply(chunk: readonly ChangeRecord[], entry: JournalEntry): Promise<'applied' | 'duplicate'> {
    const byTenant = new Map<string, { entryIds: number[]; leaves: Hash[] }>();
    for (const record of chunk) {
      const inserted = insertedEntry(record);
      if (!inserted) continue;
      const part = byTenant.get(inserted.tenant) ?? { entryIds: [], leaves: [] };
      part.entryIds.push(inserted.id);
      part.leaves.push(entryLeafHash(inserted));
      byTenant.set(inserted.tenant, part);
    }
    const journalPut = {
      Put: {
        TableName: this.#table,
        Item: {
          ...journalKey(entry.step, entry.key),
          members: [...entry.members],
          [CONTROL_KEYS.ttl]: Math.floor(this.#clock() / 1000) + JOURNAL_LIFETIME_SECONDS,
        },
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': CONTROL_KEYS.partition },
      },
    };
    for (let attempt = 1; ; attempt += 1) {
      // The first attempt trusts what this consumer itself last committed for the tenant (its
      // head and tiles): when another consumer appended since, the head condition fails and the
      // retry reads the store.
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
      const grown = await Promise.all(appends.map((append) => this.#appendWrites(append, trusted)));
      const writes = grown.map((one) => one.writes);
      // The advisory entry-to-index items first: plain writes, rewritten by any retry.
      await batchWriteAll(
        this.#doc,
        this.#table,
        appends.flatMap((append) =>
          append.entryIds.map((id, offset) => ({
            PutRequest: { Item: { ...tlogLeafIndexKey(append.tenant, id), index: append.oldSize + offset } },
          })),
        ),
        { backoff: this.#backoff, random: this.#random, concurrency: 4 },
      );
      try {
        await this.#doc.send(new TransactWriteCommand({ TransactItems: [journalPut, ...writes.flat()] }));
        this.#remember(appends, grown, trusted);
        return 'applied';
      } catch (error) {
        for (const tenant of byTenant.keys()) this.#known.delete(tenant);
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

  /** Keeps each tenant's new size and the tiles just written, for this consumer's next chunk. */
  #remember(
    appends: readonly TenantAppend[],
    grown: readonly { readonly size: number; readonly tiles: readonly Tile[] }[],
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
      this.#known.set(append.tenant, { size: result.size, tiles });
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

  /** The head and tile puts of one tenant's append, the head conditioned on the size it was read at. */
  async #appendWrites(
    append: TenantAppend,
    trusted: boolean,
  ): Promise<{ writes: Record<string, unknown>[]; size: number; tiles: readonly Tile[] }> {
    const grown = await appendToTiles(this.#tiles(append.tenant, trusted), append.oldSize, append.leaves);
    const head = {
      Put: {
        TableName: this.#table,
        Item: { ...tlogHeadKey(append.tenant), size: grown.size, root: grown.root },
        ...(append.oldSize === 0
          ? {
              ConditionExpression: 'attribute_not_exists(#pk)',
              ExpressionAttributeNames: { '#pk': CONTROL_KEYS.partition },
            }
          : {
              ConditionExpression: '#size = :old',
              ExpressionAttributeNames: { '#size': 'size' },
              ExpressionAttributeValues: { ':old': append.oldSize },
            }),
      },
    };
    const tiles = grown.tiles.map((tile) => ({
      Put: {
        TableName: this.#table,
        Item: {
          ...tlogTileKey(append.tenant, tile.level, tile.index),
          width: tile.width,
          hashes: tile.hashes,
        },
      },
    }));
    return { writes: [head, ...tiles], size: grown.size, tiles: grown.tiles };
  }
}
