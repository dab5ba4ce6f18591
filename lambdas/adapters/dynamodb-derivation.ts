import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  counterPartsFor,
  parseShardPartition,
  type ShardPlanner,
  type ShardPlans,
  shardsAt,
} from '../domain/hot-shards.js';
import type { AuditRecord } from '../domain/record.js';
import { COUNTER_SHARDS, counterDeltas } from '../domain/rollups.js';
import type {
  ChangeRecord,
  ChunkPacker,
  DerivationJournal,
  DerivationStep,
  JointCommit,
  JointPart,
  JournalEntry,
} from '../ports/derivation.js';
import type { ShardPlanSource, ShardPlanStore } from '../ports/shard-plans.js';
import { type BackoffPolicy, backoffDelay, DEFAULT_BACKOFF, isThrottle } from './backoff.js';
import {
  type CounterItemDelta,
  counterItemDeltas,
  counterUpdate,
  MAX_TRANSACTION_ITEMS,
  type TransactItem,
} from './dynamodb-counters.js';
import { journalKey } from './dynamodb-keys.js';
import { log } from './log.js';
import { CONTROL_KEYS, EVENTS_KEYS } from './table-definitions.js';

/** Journal entries outlive the stream's own 24-hour retention: no delivery can reach past them. */
const JOURNAL_LIFETIME_SECONDS = 2 * 86_400;

/** Stream event ids as DynamoDB Streams writes them (32 hex digits), or as UUIDs (DynamoDB Local). */
const HEX_ID = /^[0-9a-f]{32}$/;
const UUID_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * A journal entry's members, packed: a delivery's entry lists up to 500 stream event ids, and an
 * item's write costs its size (a transactional write twice). Ids of one of the two forms streams
 * give are packed as 16 bytes each (`packed`, with their `form`): a third of their text; any other
 * ids are kept as one JSON string (`members`).
 */
const packMembers = (members: readonly string[]): Record<string, unknown> => {
  const form = members.every((id) => HEX_ID.test(id))
    ? 'hex'
    : members.every((id) => UUID_ID.test(id))
      ? 'uuid'
      : undefined;
  if (!form) return { members: JSON.stringify(members) };
  const packed = Buffer.alloc(members.length * 16);
  for (const [position, id] of members.entries())
    packed.write(form === 'uuid' ? id.replaceAll('-', '') : id, position * 16, 'hex');
  return { packed: new Uint8Array(packed.buffer, packed.byteOffset, packed.byteLength), form };
};

/** The members a journal item lists, in any of the forms entries were written in. */
const journalMembers = (
  item: Readonly<Record<string, unknown>> | undefined,
): readonly string[] | undefined => {
  if (!item) return undefined;
  const { packed, form, members } = item;
  if (packed instanceof Uint8Array && (form === 'hex' || form === 'uuid')) {
    const hex = Buffer.from(packed.buffer, packed.byteOffset, packed.byteLength).toString('hex');
    const ids: string[] = [];
    for (let at = 0; at < hex.length; at += 32) {
      const id = hex.slice(at, at + 32);
      ids.push(
        form === 'hex'
          ? id
          : `${id.slice(0, 8)}-${id.slice(8, 12)}-${id.slice(12, 16)}-${id.slice(16, 20)}-${id.slice(20)}`,
      );
    }
    return ids;
  }
  // The entries written before: the ids as a list.
  if (Array.isArray(members)) return members as string[];
  if (typeof members !== 'string') return undefined;
  const parsed: unknown = JSON.parse(members);
  return Array.isArray(parsed) && parsed.every((member) => typeof member === 'string') ? parsed : undefined;
};

/** The put of a chunk's journal entry, which fails once the chunk is applied (a duplicate). */
export const journalPut = (table: string, entry: JournalEntry, now: number): TransactItem => ({
  Put: {
    TableName: table,
    Item: journalItem(entry, now),
    ConditionExpression: 'attribute_not_exists(#pk)',
    ExpressionAttributeNames: { '#pk': CONTROL_KEYS.partition },
  },
});

/** A journal entry's item. */
export const journalItem = (entry: JournalEntry, now: number): Record<string, unknown> => ({
  ...journalKey(entry.step, entry.key),
  ...packMembers(entry.members),
  [CONTROL_KEYS.ttl]: Math.floor(now / 1000) + JOURNAL_LIFETIME_SECONDS,
});

/** The derivation journal in the control table: one small item per applied chunk. */
export class DynamoDbDerivationJournal implements DerivationJournal {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #clock: () => number;

  constructor(
    doc: DynamoDBDocumentClient,
    options: { readonly controlTable: string; readonly clock?: () => number },
  ) {
    this.#doc = doc;
    this.#table = options.controlTable;
    this.#clock = options.clock ?? Date.now;
  }

  async find(step: string, eventId: string): Promise<readonly string[] | undefined> {
    const output = await this.#doc.send(
      new GetCommand({ TableName: this.#table, Key: journalKey(step, eventId), ConsistentRead: true }),
    );
    return journalMembers(output.Item);
  }

  async alias(entry: JournalEntry): Promise<void> {
    await this.#doc.send(new PutCommand({ TableName: this.#table, Item: journalItem(entry, this.#clock()) }));
  }
}

/** Counter items one chunk may update, leaving room in the transaction for the journal entry. */
const MAX_COUNTER_ITEMS = 90;

/** The fields rollups count by, from a stream image of an entry; undefined for any other item. */
type CountedFields = Pick<AuditRecord, 'tenant' | 'timestamp' | 'action_type' | 'user' | 'api_key'>;

const countedFields = (image: Readonly<Record<string, unknown>> | undefined): CountedFields | undefined => {
  if (!image) return undefined;
  const { tenant, timestamp, action_type, user, api_key } = image;
  if (typeof tenant !== 'string' || typeof timestamp !== 'number' || typeof action_type !== 'string')
    return undefined;
  if (typeof image[EVENTS_KEYS.sort] !== 'number' || typeof image.hash !== 'string') return undefined;
  return {
    // A hot tenant's write shard names the tenant with its shard (`tenant~3`): counted as the tenant.
    tenant: parseShardPartition(tenant).tenant,
    timestamp,
    action_type,
    ...(typeof user === 'string' ? { user } : {}),
    ...(api_key && typeof api_key === 'object' ? { api_key: api_key as AuditRecord['api_key'] } : {}),
  };
};

/**
 * The rollup counters, derived from the stream: each chunk's inserted entries are counted in one
 * transaction with the chunk's journal entry, so each counter item is written once per chunk
 * however many entries the chunk holds. Deletions are not counted here: purge decrements the
 * counters itself, atomically with its deletes (see docs/architecture.md). Entries are never
 * modified, so MODIFY records (a migration adding an index key) change no count.
 */
export class DynamoDbCounterStep implements DerivationStep, JointStep {
  readonly name = 'counters';
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #clock: () => number;
  readonly #random: () => number;
  readonly #backoff: BackoffPolicy;
  readonly #shardPlans: ShardPlanSource | undefined;
  readonly #planShards: { readonly planner: ShardPlanner; readonly store: ShardPlanStore } | undefined;

  constructor(
    doc: DynamoDBDocumentClient,
    options: {
      readonly controlTable: string;
      readonly clock?: () => number;
      readonly random?: () => number;
      readonly backoff?: BackoffPolicy;
      /** Hot tenants' plans: their counters spread over k counter partitions. */
      readonly shardPlans?: ShardPlanSource;
      /**
       * Measures each tenant's rate from the entries counted and records a plan when it needs
       * more (or far fewer) write shards (lambdas/domain/hot-shards.ts).
       */
      readonly planShards?: { readonly planner: ShardPlanner; readonly store: ShardPlanStore };
    },
  ) {
    this.#doc = doc;
    this.#table = options.controlTable;
    this.#shardPlans = options.shardPlans;
    this.#planShards = options.planShards;
    this.#clock = options.clock ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.#backoff = options.backoff ?? DEFAULT_BACKOFF;
  }

  packer(): ChunkPacker {
    const keys = new Set<string>();
    return {
      add: (record) => {
        const fields = record.kind === 'insert' ? countedFields(record.newImage) : undefined;
        const added = fields ? [...counterDeltas([fields], 1, 0).keys()].filter((key) => !keys.has(key)) : [];
        if (keys.size + added.length > MAX_COUNTER_ITEMS) return false;
        for (const key of added) keys.add(key);
        return true;
      },
    };
  }

  /**
   * The chunk's counter updates, per tenant on one counter shard picked at random (readers add
   * every shard up). A hot tenant's shards span its counter partitions (8 shards each; one per 4
   * write shards of the least of the plans in effect for the chunk's entries, so readers, who read
   * the partitions of every plan, always find them): no counter item or partition takes every chunk.
   */
  async #spread(counted: readonly CountedFields[]): Promise<CounterItemDelta[]> {
    const byTenant = new Map<string, CountedFields[]>();
    for (const fields of counted) {
      const group = byTenant.get(fields.tenant);
      if (group) group.push(fields);
      else byTenant.set(fields.tenant, [fields]);
    }
    const deltas: CounterItemDelta[] = [];
    for (const [tenant, records] of byTenant) {
      const plans: ShardPlans = this.#shardPlans ? await this.#shardPlans.plans(tenant) : [];
      const parts = counterPartsFor(
        plans.length === 0 ? 1 : Math.min(...records.map((record) => shardsAt(plans, record.timestamp))),
      );
      deltas.push(...counterItemDeltas(records, 1, Math.floor(this.#random() * COUNTER_SHARDS * parts)));
    }
    return deltas;
  }

  /**
   * Feeds the applied chunk's inserts to the planner and records the plans it asks for. A plan
   * that cannot be recorded now is asked for again at the next chunk: it never fails the chunk.
   */
  async #plan(chunk: readonly ChangeRecord[]): Promise<void> {
    const planning = this.#planShards;
    if (!planning) return;
    const tenants = new Set<string>();
    for (const record of chunk) {
      const partition = record.kind === 'insert' ? record.newImage?.[EVENTS_KEYS.partition] : undefined;
      const timestamp = record.newImage?.timestamp;
      if (typeof partition !== 'string' || typeof timestamp !== 'number') continue;
      const { tenant, shard } = parseShardPartition(partition);
      planning.planner.observe(tenant, shard, timestamp);
      tenants.add(tenant);
    }
    for (const tenant of tenants) {
      try {
        const now = this.#clock();
        const plan = planning.planner.consider(tenant, await planning.store.plans(tenant), now);
        if (plan && (await planning.store.record(tenant, plan))) {
          log.info('write shards planned for a hot tenant', { tenant, from: plan.from, shards: plan.shards });
        }
      } catch (error) {
        log.warn('could not record a write-shard plan; asked again at the next chunk', {
          tenant,
          error: error instanceof Error ? error.message : String(error),
        });
      }
    }
  }

  /** The chunk's writes: its journal entry (a put that fails once the chunk is applied) and counters. */
  async #writes(chunk: readonly ChangeRecord[], entry: JournalEntry): Promise<TransactItem[]> {
    const counted = chunk.flatMap((record) => {
      const fields = record.kind === 'insert' ? countedFields(record.newImage) : undefined;
      return fields ? [fields] : [];
    });
    const updates = (await this.#spread(counted)).map((delta) => counterUpdate(this.#table, delta));
    return [journalPut(this.#table, entry, this.#clock()), ...updates];
  }

  async stageJoint(chunk: readonly ChangeRecord[], entry: JournalEntry): Promise<StagedJointWrites> {
    return {
      writes: await this.#writes(chunk, entry),
      committed: () => this.#plan(chunk),
      failed: () => undefined,
    };
  }

  async apply(chunk: readonly ChangeRecord[], entry: JournalEntry): Promise<'applied' | 'duplicate'> {
    const writes = await this.#writes(chunk, entry);
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.#doc.send(new TransactWriteCommand({ TransactItems: writes }));
        await this.#plan(chunk);
        return 'applied';
      } catch (error) {
        const reasons =
          error instanceof TransactionCanceledException ? (error.CancellationReasons ?? []) : [];
        if (reasons[0]?.Code === 'ConditionalCheckFailed') return 'duplicate';
        const retryable =
          isThrottle(error) || reasons.some((reason) => reason.Code === 'TransactionConflict');
        if (!retryable || attempt >= this.#backoff.maxAttempts) throw error;
        await backoffDelay(this.#backoff, attempt, this.#random);
      }
    }
  }
}

/** A step's chunk staged for a joint commit: its journal entry and effects. */
export interface StagedJointWrites {
  readonly writes: readonly TransactItem[];
  /** Told once the joint write committed. */
  committed(): Promise<void> | void;
  /** Told that the joint write was sent and failed (or its outcome is unknown). */
  failed(): void;
}

/** A step that can stage its chunk for a joint commit. */
export interface JointStep {
  stageJoint(chunk: readonly ChangeRecord[], entry: JournalEntry): Promise<StagedJointWrites>;
}

const canJoin = (step: DerivationStep): step is DerivationStep & JointStep =>
  typeof (step as Partial<JointStep>).stageJoint === 'function';

/**
 * The steps' chunks of a small delivery (the same records for each) in one TransactWriteItems,
 * each with its journal entry: one round trip instead of one per step. It tries once; a write that
 * does not fit or fails leaves each step to apply its chunk on its own, with its own retries, where
 * its journal entry's condition tells whether the write had applied it after all.
 */
export class DynamoDbJointCommit implements JointCommit {
  readonly #doc: DynamoDBDocumentClient;

  constructor(doc: DynamoDBDocumentClient) {
    this.#doc = doc;
  }

  async apply(parts: readonly JointPart[]): Promise<boolean> {
    const joining = parts.flatMap((part) => (canJoin(part.step) ? [{ step: part.step, part }] : []));
    if (joining.length < parts.length) return false;
    const staged = await Promise.all(
      joining.map(({ step, part }) => step.stageJoint(part.chunk, part.entry)),
    );
    const writes = staged.flatMap((one) => one.writes);
    if (writes.length > MAX_TRANSACTION_ITEMS) return false;
    try {
      await this.#doc.send(new TransactWriteCommand({ TransactItems: writes }));
    } catch {
      for (const one of staged) one.failed();
      return false;
    }
    for (const one of staged) await one.committed();
    return true;
  }
}
