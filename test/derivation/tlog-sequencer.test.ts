import { randomBytes, randomUUID } from 'node:crypto';
import {
  type DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from '@jest/globals';
import { DynamoDbCounterStore } from '../../lambdas/adapters/dynamodb-counter-store.js';
import {
  DynamoDbCounterStep,
  DynamoDbDerivationJournal,
  DynamoDbJointCommit,
} from '../../lambdas/adapters/dynamodb-derivation.js';
import {
  tlogCheckpointKey,
  tlogHeadKey,
  tlogLeafAttribute,
  tlogLeafBucketKey,
  tlogLeafRunAttribute,
  tlogTileKey,
  tlogTileStripKey,
} from '../../lambdas/adapters/dynamodb-keys.js';
import { recordToItem } from '../../lambdas/adapters/dynamodb-records.js';
import {
  DynamoDbSequencerStep,
  DynamoDbTlogStore,
  encodeLeafRun,
  insertedEntry,
} from '../../lambdas/adapters/dynamodb-tlog.js';
import { idFor } from '../../lambdas/domain/ids.js';
import { type AuditRecord, sealRecord } from '../../lambdas/domain/record.js';
import { openCheckpoint } from '../../lambdas/domain/tlog/checkpoint.js';
import { entryLeafHash } from '../../lambdas/domain/tlog/entry-leaf.js';
import { inclusionProof, rootHash, sameHash, verifyInclusion } from '../../lambdas/domain/tlog/merkle.js';
import { encodeSignerKey, parseSignerKey } from '../../lambdas/domain/tlog/note.js';
import { tileNodeReader } from '../../lambdas/domain/tlog/tiles.js';
import type { ChangeRecord, DeliveryFollowUp, DerivationStep } from '../../lambdas/ports/derivation.js';
import { CheckpointFollowUp, signHead } from '../../lambdas/use-cases/checkpoint-log.js';
import { deriveChanges } from '../../lambdas/use-cases/derive-changes.js';
import { type LocalStreamConsumer, startStreamConsumer } from '../../local/stream-consumer.js';
import { awsError, injectFault } from '../helpers/faults.js';
import { createStreamTables, type StreamTables, writeRecords } from '../helpers/stream-tables.js';

const endpoint = process.env.TEST_DYNAMODB_ENDPOINT as string;
const BASE = Date.UTC(2026, 10, 30, 8);

type Tables = StreamTables;
const createTables = createStreamTables;

const writeEntries = async (
  tables: Tables,
  tenant: string,
  count: number,
  offset = 0,
): Promise<AuditRecord[]> => {
  const records = Array.from({ length: count }, (_, index) => {
    const n = index + offset;
    const timestamp = BASE + n;
    return sealRecord(tenant, idFor(timestamp, n % 1024), timestamp, {
      action_type: `action.${n % 4}`,
      user: `u${n % 3}`,
    });
  });
  await writeRecords(tables, records);
  return records;
};

const consumer = (
  tables: Tables,
  steps: DerivationStep[],
  batchSize = 100,
  followUps: DeliveryFollowUp[] = [],
): LocalStreamConsumer =>
  startStreamConsumer({
    endpoint,
    streamArn: tables.streamArn,
    batchSize,
    retryMs: 10,
    handle: async (records) => {
      const outcome = await deriveChanges(
        {
          journal: new DynamoDbDerivationJournal(tables.doc, { controlTable: tables.control }),
          steps,
          followUps,
          // Beside the counters, as in the service: a delivery both steps take whole is one commit.
          ...(steps.length > 1 ? { joint: new DynamoDbJointCommit(tables.doc) } : {}),
        },
        records,
      );
      return outcome.resumeAt !== undefined ? { resumeAt: outcome.resumeAt } : {};
    },
  });

type Backoff = ConstructorParameters<typeof DynamoDbSequencerStep>[1]['backoff'];

/**
 * The two ways the sequencer runs: on its own, and as it runs in the service, beside the counter
 * step (each in chunks of its own over the same deliveries).
 */
const modes: [
  string,
  (doc: DynamoDBDocumentClient, control: string, backoff?: Backoff) => DerivationStep[],
][] = [
  [
    'on its own',
    (doc, control, backoff) => [
      new DynamoDbSequencerStep(doc, { controlTable: control, ...(backoff ? { backoff } : {}) }),
    ],
  ],
  [
    'beside the counter step',
    (doc, control, backoff) => [
      new DynamoDbSequencerStep(doc, { controlTable: control, ...(backoff ? { backoff } : {}) }),
      new DynamoDbCounterStep(doc, { controlTable: control, ...(backoff ? { backoff } : {}) }),
    ],
  ],
];

/** Beside the counter step, the counters count every entry once too. */
const expectCounted = async (
  tables: Tables,
  steps: readonly DerivationStep[],
  tenant: string,
  count: number,
) => {
  if (!steps.some((step) => step.name === 'counters')) return;
  const counters = new DynamoDbCounterStore(tables.doc, { controlTable: tables.control });
  expect(await counters.total(tenant, { kind: 'all' })).toBe(count);
};

/**
 * The tenant's tree holds every entry exactly once (no leaf twice, none missing), its stored root is
 * the root of its leaves, each entry's index item names its leaf, and every proof verifies.
 */
const expectSequenced = async (tables: Tables, tenant: string, records: readonly AuditRecord[]) => {
  const store = new DynamoDbTlogStore(tables.doc, { controlTable: tables.control });
  const head = await store.head(tenant);
  expect(head?.size).toBe(records.length);
  if (!head) return;
  const read = tileNodeReader(store.tiles(tenant));
  const leaves = await Promise.all(Array.from({ length: head.size }, (_, index) => read(0, index)));
  const expected = new Map(
    records.map((record) => [Buffer.from(entryLeafHash(record)).toString('hex'), record]),
  );
  const seen = new Set(leaves.map((leaf) => Buffer.from(leaf).toString('hex')));
  expect(seen.size).toBe(records.length);
  expect([...seen].every((leaf) => expected.has(leaf))).toBe(true);
  expect(sameHash(await rootHash(read, head.size), head.root)).toBe(true);
  const indexes = await store.leafIndexesOf(
    tenant,
    records.map((record) => record.id),
  );
  for (const [index, leaf] of leaves.entries()) {
    const record = expected.get(Buffer.from(leaf).toString('hex')) as AuditRecord;
    expect(indexes.get(record.id)).toBe(index);
    if (index % 7 === 0 || index === head.size - 1) {
      expect(await store.leafIndexOf(tenant, record.id)).toBe(index);
      const proof = await inclusionProof(read, index, head.size);
      expect(verifyInclusion(index, head.size, entryLeafHash(record), proof, head.root)).toBe(true);
    }
  }
};

describe.each(modes)('the verifiable log sequencer (%s)', (_mode, makeSteps) => {
  it('gives every entry of every tenant one leaf, in stream order, and stores a tree that proves them', async () => {
    const tables = await createTables();
    const steps = makeSteps(tables.doc, tables.control);
    const running = consumer(tables, steps);
    const acme = await writeEntries(tables, 'acme', 600);
    const globex = await writeEntries(tables, 'globex', 90, 5000);
    await running.settle();
    await expectSequenced(tables, 'acme', acme);
    await expectSequenced(tables, 'globex', globex);
    await expectCounted(tables, steps, 'acme', 600);
    await expectCounted(tables, steps, 'globex', 90);
    await running.stop();
  });

  it('appends nothing twice when the whole stream is delivered again in other batches', async () => {
    const tables = await createTables();
    const steps = makeSteps(tables.doc, tables.control);
    const first = consumer(tables, steps, 37);
    const records = await writeEntries(tables, 'acme', 300);
    await first.settle();
    await first.stop();
    const store = new DynamoDbTlogStore(tables.doc, { controlTable: tables.control });
    const before = await store.head('acme');
    const again = consumer(tables, steps, 64);
    await again.settle();
    expect(again.stats.handled).toBe(300);
    const after = await store.head('acme');
    expect(after?.size).toBe(300);
    expect(sameHash(after?.root ?? new Uint8Array(), before?.root ?? new Uint8Array(1))).toBe(true);
    await expectSequenced(tables, 'acme', records);
    await expectCounted(tables, steps, 'acme', 300);
    await again.stop();
  });

  it('loses and repeats nothing when the consumer dies after a commit or on its way to the commit', async () => {
    const tables = await createTables();
    const send = tables.doc.send.bind(tables.doc);
    let beforeCommit = 0;
    // Dies on its way to the commit: the transaction is never sent.
    const doc = Object.create(tables.doc) as DynamoDBDocumentClient;
    doc.send = (async (command: unknown) => {
      if (command instanceof TransactWriteCommand && beforeCommit < 3) {
        beforeCommit += 1;
        throw awsError('ProcessExited', 'the consumer died before committing');
      }
      return send(command as never);
    }) as DynamoDBDocumentClient['send'];
    const real = makeSteps(doc, tables.control, { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1 });
    let afterCommit = 0;
    // Dies after a transaction committed, before answering: the batch comes back whole.
    const dying = real.map(
      (step): DerivationStep => ({
        name: step.name,
        ...(step.maxChunkRecords === undefined ? {} : { maxChunkRecords: step.maxChunkRecords }),
        packer: () => step.packer(),
        apply: async (chunk, entry) => {
          const result = await step.apply(chunk, entry);
          if (afterCommit < 3 && chunk.length > 1) {
            afterCommit += 1;
            throw awsError('ProcessExited', 'the consumer died after committing');
          }
          return result;
        },
      }),
    );
    const running = consumer(tables, dying, 250);
    const records = await writeEntries(tables, 'acme', 500);
    await running.settle();
    expect(beforeCommit).toBe(3);
    expect(afterCommit).toBe(3);
    // Six deaths, in three deliveries at least (beside the counters, both steps of one delivery
    // may die in it).
    expect(running.stats.failures).toBeGreaterThanOrEqual(3);
    await expectSequenced(tables, 'acme', records);
    await expectCounted(tables, real, 'acme', 500);
    await running.stop();
  });

  it('never gives one index twice when two consumers (two stream shards) append to one tenant at once', async () => {
    const tables = await createTables();
    const records = Array.from({ length: 240 }, (_, n) =>
      sealRecord('acme', idFor(BASE + n, 0), BASE + n, { action_type: 'race' }),
    );
    const change = (record: AuditRecord, n: number): ChangeRecord => ({
      eventId: `e${n}`,
      sequenceNumber: String(1000 + n),
      kind: 'insert',
      newImage: recordToItem(record),
    });
    const journal = new DynamoDbDerivationJournal(tables.doc, { controlTable: tables.control });
    const shards = [0, 1, 2].map((shard) =>
      records.flatMap((record, n) => (n % 3 === shard ? [change(record, n)] : [])),
    );
    // Each "shard" is delivered in small batches by its own consumer, all at once.
    await Promise.all(
      shards.map(async (changes) => {
        const steps = makeSteps(tables.doc, tables.control);
        for (let start = 0; start < changes.length; start += 10) {
          const outcome = await deriveChanges({ journal, steps }, changes.slice(start, start + 10));
          expect(outcome.resumeAt).toBeUndefined();
        }
      }),
    );
    await expectSequenced(tables, 'acme', records);
    await expectCounted(tables, makeSteps(tables.doc, tables.control), 'acme', 240);
  });
});

describe('checkpoints (once per delivery, after the sequencer)', () => {
  it('signs a checkpoint of each tenant a chunk appended to, which opens with the public key', async () => {
    const tables = await createTables();
    const signerKey = encodeSignerKey('audit-trail.test', randomBytes(32));
    const signer = parseSignerKey(signerKey);
    const store = new DynamoDbTlogStore(tables.doc, { controlTable: tables.control });
    const sequencer = new DynamoDbSequencerStep(tables.doc, { controlTable: tables.control });
    const checkpoints = new CheckpointFollowUp(
      { reader: store, writer: store, signer: async () => signer, origin: 'audit-trail.test' },
      (record) => insertedEntry(record)?.tenant,
      (tenant) => sequencer.committedHead(tenant),
    );
    const steps: DerivationStep[] = [
      sequencer,
      new DynamoDbCounterStep(tables.doc, { controlTable: tables.control }),
    ];
    const running = consumer(tables, steps, 100, [checkpoints]);
    await writeEntries(tables, 'acme', 150);
    await running.settle();
    const head = await store.head('acme');
    const stored = await store.latestCheckpoint('acme');
    expect(stored?.size).toBe(150);
    const checkpoint = openCheckpoint(stored?.note ?? '', [signer.verifier], 'audit-trail.test/acme');
    expect(checkpoint.size).toBe(150);
    expect(sameHash(checkpoint.root, head?.root ?? new Uint8Array())).toBe(true);
    expect(checkpoint.extensions[0]).toMatch(/^timestamp \d+$/);
    // Another signer's key does not open it.
    const stranger = parseSignerKey(encodeSignerKey('audit-trail.test', randomBytes(32)));
    expect(() => openCheckpoint(stored?.note ?? '', [stranger.verifier])).toThrow();
    await running.stop();
  });

  it('covers every sequenced entry even when the consumer dies before checkpointing, and signs once per delivery', async () => {
    const tables = await createTables();
    const signer = parseSignerKey(encodeSignerKey('audit-trail.test', randomBytes(32)));
    const store = new DynamoDbTlogStore(tables.doc, { controlTable: tables.control });
    let saves = 0;
    let dies = 2;
    // The first two deliveries die after their chunks committed, on the way to the checkpoint.
    const writer = {
      saveCheckpoint: async (tenant: string, checkpoint: { size: number; note: string }) => {
        if (dies > 0) {
          dies -= 1;
          throw awsError('ProcessExited', 'the consumer died before checkpointing');
        }
        saves += 1;
        await store.saveCheckpoint(tenant, checkpoint);
      },
    };
    const deps = { reader: store, writer, signer: async () => signer, origin: 'audit-trail.test' };
    const tenantOf = (record: ChangeRecord) => insertedEntry(record)?.tenant;
    // A fresh consumer after each death (its memory gone), as a restarted Lambda container would be.
    let sequencer = new DynamoDbSequencerStep(tables.doc, { controlTable: tables.control });
    let batches = 0;
    const running = startStreamConsumer({
      endpoint,
      streamArn: tables.streamArn,
      batchSize: 50,
      retryMs: 10,
      handle: async (records) => {
        batches += 1;
        const fresh = dies > 0 && batches > 1;
        if (fresh) sequencer = new DynamoDbSequencerStep(tables.doc, { controlTable: tables.control });
        const current = sequencer;
        const outcome = await deriveChanges(
          {
            journal: new DynamoDbDerivationJournal(tables.doc, { controlTable: tables.control }),
            steps: [current, new DynamoDbCounterStep(tables.doc, { controlTable: tables.control })],
            followUps: [new CheckpointFollowUp(deps, tenantOf, (tenant) => current.committedHead(tenant))],
          },
          records,
        );
        return outcome.resumeAt !== undefined ? { resumeAt: outcome.resumeAt } : {};
      },
    });
    const records = await writeEntries(tables, 'acme', 200);
    await running.settle();
    expect(dies).toBe(0);
    expect(running.stats.failures).toBe(2);
    await expectSequenced(tables, 'acme', records);
    const stored = await store.latestCheckpoint('acme');
    expect(openCheckpoint(stored?.note ?? '', [signer.verifier]).size).toBe(200);
    // Once per delivery at most (a delivery of 50 records holds several chunks), never per chunk.
    expect(saves).toBeLessThanOrEqual(running.stats.batches);
    await running.stop();
  });

  it.each([
    [0, 'every chunk signs its checkpoint into its transaction: the follow-up has nothing left to store'],
    [60_000, 'within the interval chunks sign nothing: the end of each delivery covers the rest'],
  ])('with TLOG_CHECKPOINT_INTERVAL_MS %i, %s', async (intervalMs) => {
    const tables = await createTables();
    const signer = parseSignerKey(encodeSignerKey('audit-trail.test', randomBytes(32)));
    const store = new DynamoDbTlogStore(tables.doc, { controlTable: tables.control });
    let followUpSaves = 0;
    const deps = {
      reader: store,
      writer: {
        saveCheckpoint: async (tenant: string, checkpoint: { size: number; note: string }) => {
          followUpSaves += 1;
          await store.saveCheckpoint(tenant, checkpoint);
        },
      },
      signer: async () => signer,
      origin: 'audit-trail.test',
    };
    const sequencer = new DynamoDbSequencerStep(tables.doc, {
      controlTable: tables.control,
      checkpoints: { sign: (tenant, head) => signHead(deps, tenant, head), intervalMs },
    });
    const checkpoints = new CheckpointFollowUp(
      deps,
      (record) => insertedEntry(record)?.tenant,
      (tenant) => sequencer.committedHead(tenant),
    );
    const steps = [sequencer, new DynamoDbCounterStep(tables.doc, { controlTable: tables.control })];
    const running = consumer(tables, steps, 100, [checkpoints]);
    const acme = await writeEntries(tables, 'acme', 250);
    const globex = await writeEntries(tables, 'globex', 40, 5000);
    await running.settle();
    await expectSequenced(tables, 'acme', acme);
    await expectSequenced(tables, 'globex', globex);
    for (const [tenant, count] of [
      ['acme', 250],
      ['globex', 40],
    ] as const) {
      const stored = await store.latestCheckpoint(tenant);
      const checkpoint = openCheckpoint(stored?.note ?? '', [signer.verifier], `audit-trail.test/${tenant}`);
      expect(checkpoint.size).toBe(count);
      expect(sameHash(checkpoint.root, (await store.head(tenant))?.root ?? new Uint8Array())).toBe(true);
    }
    if (intervalMs === 0) expect(followUpSaves).toBe(0);
    else expect(followUpSaves).toBeGreaterThan(0);
    await running.stop();
  });

  it('reads and extends a tree whose tiles, leaf indexes and checkpoint the earlier layouts stored', async () => {
    const tables = await createTables();
    const records = Array.from({ length: 300 }, (_, n) =>
      sealRecord('acme', idFor(BASE + n, 0), BASE + n, { action_type: 'layout' }),
    );
    const changes = records.map(
      (record, n): ChangeRecord => ({
        eventId: `e${n}`,
        sequenceNumber: String(1000 + n),
        kind: 'insert',
        newImage: recordToItem(record),
      }),
    );
    const journal = new DynamoDbDerivationJournal(tables.doc, { controlTable: tables.control });
    const first = new DynamoDbSequencerStep(tables.doc, { controlTable: tables.control });
    expect(
      (await deriveChanges({ journal, steps: [first] }, changes.slice(0, 150))).resumeAt,
    ).toBeUndefined();
    // The 150-leaf tile as the earlier layouts stored it: its first 100 hashes in one item (the
    // first layout), strips 1 and 2 (hashes 64–149, the second layout) over it, this layout's
    // runs gone.
    const store = new DynamoDbTlogStore(tables.doc, { controlTable: tables.control });
    const whole = await store.tiles('acme')(0, 0, 150);
    const tileKey = tlogTileKey('acme', 0, 0);
    const runs = await tables.doc.send(
      new QueryCommand({
        TableName: tables.control,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :runs)',
        ExpressionAttributeValues: { ':pk': tileKey.pk, ':runs': `${tileKey.sk}#+` },
      }),
    );
    expect(runs.Items?.length).toBeGreaterThan(0);
    await tables.doc.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Put: {
              TableName: tables.control,
              Item: { ...tileKey, width: 100, hashes: whole.subarray(0, 100 * 32) },
            },
          },
          ...[1, 2].map((strip) => ({
            Put: {
              TableName: tables.control,
              Item: {
                ...tlogTileStripKey('acme', 0, 0, strip),
                width: Math.min(64, 150 - strip * 64),
                hashes: whole.subarray(strip * 64 * 32, Math.min(150, (strip + 1) * 64) * 32),
              },
            },
          })),
          ...(runs.Items ?? []).map((item) => ({
            Delete: { TableName: tables.control, Key: { pk: item.pk, sk: item.sk } },
          })),
        ],
      }),
    );
    expect(Buffer.from(await store.tiles('acme')(0, 0, 150)).equals(Buffer.from(whole))).toBe(true);
    // Its leaf indexes rewritten in 64 ms bucket items half as the first layout stored them (one
    // attribute per entry), half as runs (one attribute per chunk, as now).
    const firstIndexes = await store.leafIndexesOf(
      'acme',
      records.slice(0, 150).map((record) => record.id),
    );
    expect(firstIndexes.size).toBe(150);
    const legacy = new Map<string, Record<string, unknown>>();
    const legacyRuns = new Map<string, { id: number; index: number }[]>();
    for (const [id, index] of firstIndexes) {
      const key = tlogLeafBucketKey('acme', id);
      const item = legacy.get(key.pk) ?? { ...key };
      if (index % 2 === 0) item[tlogLeafAttribute(id)] = index;
      else legacyRuns.set(key.pk, [...(legacyRuns.get(key.pk) ?? []), { id, index }]);
      legacy.set(key.pk, item);
    }
    for (const [pk, entries] of legacyRuns) {
      const first = Math.min(...entries.map(({ index }) => index));
      (legacy.get(pk) as Record<string, unknown>)[tlogLeafRunAttribute(first)] = encodeLeafRun(
        entries,
        first,
      );
    }
    for (const item of legacy.values())
      await tables.doc.send(new PutCommand({ TableName: tables.control, Item: item }));
    expect(await store.leafIndexesOf('acme', [...firstIndexes.keys()])).toEqual(firstIndexes);
    // Its checkpoint as the earlier layouts stored it: an item of its own, the head holding none.
    const signer = parseSignerKey(encodeSignerKey('audit-trail.test', randomBytes(32)));
    const note = await signHead(
      { reader: store, writer: store, signer: async () => signer, origin: 'audit-trail.test' },
      'acme',
      { size: 150, root: (await store.head('acme'))?.root ?? new Uint8Array() },
    );
    await tables.doc.send(
      new UpdateCommand({
        TableName: tables.control,
        Key: tlogHeadKey('acme'),
        UpdateExpression: 'REMOVE note, noteSize',
      }),
    );
    await tables.doc.send(
      new PutCommand({ TableName: tables.control, Item: { ...tlogCheckpointKey('acme'), size: 150, note } }),
    );
    expect(await store.latestCheckpoint('acme')).toEqual({ size: 150, note });
    // A consumer without memory of it reads that tile, and appends the rest in runs over it (and
    // its leaf-index runs beside the per-entry attributes of a bucket both batches write to).
    const second = new DynamoDbSequencerStep(tables.doc, {
      controlTable: tables.control,
      checkpoints: {
        sign: (tenant, head) =>
          signHead(
            { reader: store, writer: store, signer: async () => signer, origin: 'audit-trail.test' },
            tenant,
            head,
          ),
        intervalMs: 0,
      },
    });
    expect((await deriveChanges({ journal, steps: [second] }, changes.slice(150))).resumeAt).toBeUndefined();
    await expectSequenced(tables, 'acme', records);
    // The new checkpoint is on the head, and it is the one read.
    expect((await store.latestCheckpoint('acme'))?.size).toBe(300);
  });

  it('covers a redelivered batch that another consumer sequenced and died on, whatever this one remembers', async () => {
    const tables = await createTables();
    const signer = parseSignerKey(encodeSignerKey('audit-trail.test', randomBytes(32)));
    const store = new DynamoDbTlogStore(tables.doc, { controlTable: tables.control });
    const deps = { reader: store, writer: store, signer: async () => signer, origin: 'audit-trail.test' };
    const tenantOf = (record: ChangeRecord) => insertedEntry(record)?.tenant;
    const records = Array.from({ length: 150 }, (_, n) =>
      sealRecord('acme', idFor(BASE + n, 0), BASE + n, { action_type: 'handover' }),
    );
    const changes = records.map(
      (record, n): ChangeRecord => ({
        eventId: `e${n}`,
        sequenceNumber: String(1000 + n),
        kind: 'insert',
        newImage: recordToItem(record),
      }),
    );
    const journal = new DynamoDbDerivationJournal(tables.doc, { controlTable: tables.control });
    // Y sequences and checkpoints the first 50 entries, and remembers that head as checkpointed.
    const y = new DynamoDbSequencerStep(tables.doc, {
      controlTable: tables.control,
      checkpoints: { sign: (tenant, head) => signHead(deps, tenant, head), intervalMs: 0 },
    });
    const yDeps = {
      journal,
      steps: [y],
      followUps: [new CheckpointFollowUp(deps, tenantOf, (tenant) => y.committedHead(tenant))],
    };
    expect((await deriveChanges(yDeps, changes.slice(0, 50))).resumeAt).toBeUndefined();
    // X sequences the next 100 (signing nothing into its chunks) and dies before checkpointing.
    const x = new DynamoDbSequencerStep(tables.doc, { controlTable: tables.control });
    const dying: DeliveryFollowUp = {
      name: 'checkpoint',
      run: async () => {
        throw awsError('ProcessExited', 'the consumer died before checkpointing');
      },
    };
    const xOutcome = await deriveChanges({ journal, steps: [x], followUps: [dying] }, changes.slice(50));
    expect(xOutcome.resumeAt).toBe(changes[50]?.sequenceNumber);
    expect((await store.head('acme'))?.size).toBe(150);
    expect((await store.latestCheckpoint('acme'))?.size).toBe(50);
    // The batch comes back to Y, whose memory (50, checkpointed) is out of date.
    const yOutcome = await deriveChanges(yDeps, changes.slice(50));
    expect(yOutcome.resumeAt).toBeUndefined();
    expect(yOutcome.skipped.tlog).toBe(100);
    expect((await store.latestCheckpoint('acme'))?.size).toBe(150);
  });
});

describe('counting a chunk’s log items (what the packer reserves in the transaction)', () => {
  const changesOf = (records: readonly AuditRecord[], from = 0): ChangeRecord[] =>
    records.map((record, n) => ({
      eventId: `c${from + n}`,
      sequenceNumber: String(5000 + from + n),
      kind: 'insert',
      newImage: recordToItem(record),
    }));
  // Entries of one millisecond (sequence numbers apart): one leaf-index bucket for them all.
  const at = Math.ceil(BASE / 256) * 256 + 512;
  const tenantRecords = (tenant: string, count: number, offset: number) =>
    Array.from({ length: count }, (_, n) =>
      sealRecord(tenant, idFor(at, offset + n), at, { action_type: 'pack' }),
    );

  it('counts the tiles a known tenant grows exactly, an unknown or contended one at their most', async () => {
    // Prepare: a sequencer that committed 250 entries for acme (its tree's first tile nearly full).
    const tables = await createTables();
    const clock = { now: BASE };
    const step = new DynamoDbSequencerStep(tables.doc, {
      controlTable: tables.control,
      clock: () => clock.now,
    });
    const journal = new DynamoDbDerivationJournal(tables.doc, { controlTable: tables.control });
    const first = tenantRecords('acme', 250, 0);
    expect((await deriveChanges({ journal, steps: [step] }, changesOf(first))).resumeAt).toBeUndefined();
    const next = changesOf(tenantRecords('acme', 10, 250), 250);
    const unknown = changesOf(tenantRecords('globex', 2, 0), 400);

    // Act
    const counter = step.counter();
    const counted = [...next, ...unknown].map((record) => counter.add(record));

    // Assess: acme's first entry reserves its head, one level-0 tile and its bucket; the one that
    // fills the tile (the 256th leaf) adds the level-1 tile its hash goes to, the next one the next
    // level-0 tile; globex, unknown, reserves its head, the five tiles one leaf can grow at most
    // (one per tile level) and its bucket, and its second entry the second level-0 tile two can.
    expect(counted).toEqual([3, 0, 0, 0, 0, 1, 1, 0, 0, 0, 7, 1]);
    // A commit that fails (another consumer appended one entry first; the retry succeeds) makes
    // acme count at the most for a while, though this consumer knows its head again…
    const other = new DynamoDbSequencerStep(tables.doc, { controlTable: tables.control });
    const sneaked = changesOf(tenantRecords('acme', 1, 300), 300);
    expect((await deriveChanges({ journal, steps: [other] }, sneaked)).resumeAt).toBeUndefined();
    expect((await deriveChanges({ journal, steps: [step] }, next)).resumeAt).toBeUndefined();
    expect(
      (await new DynamoDbTlogStore(tables.doc, { controlTable: tables.control }).head('acme'))?.size,
    ).toBe(261);
    const later = changesOf(tenantRecords('acme', 1, 261), 261)[0] as ChangeRecord;
    expect(step.counter().add(later)).toBe(7);
    // …then exactly again, from the head it committed.
    clock.now += 61_000;
    expect(step.counter().add(later)).toBe(3);
  });

  it('refuses to send a chunk whose retry outgrew the transaction, writes nothing of it, and packs it again', async () => {
    // Prepare: A commits 160 entries of acme and knows that head; B, another consumer, appends one.
    const tables = await createTables();
    const journal = new DynamoDbDerivationJournal(tables.doc, { controlTable: tables.control });
    const store = new DynamoDbTlogStore(tables.doc, { controlTable: tables.control });
    const a = new DynamoDbSequencerStep(tables.doc, { controlTable: tables.control });
    const b = new DynamoDbSequencerStep(tables.doc, { controlTable: tables.control });
    expect(
      (await deriveChanges({ journal, steps: [a] }, changesOf(tenantRecords('acme', 160, 0)))).resumeAt,
    ).toBeUndefined();
    const sneaked = changesOf(tenantRecords('acme', 1, 160), 160);
    expect((await deriveChanges({ journal, steps: [b] }, sneaked)).resumeAt).toBeUndefined();
    // 96 entries, each in a leaf-index bucket of its own: from 160 leaves A counts its head, two
    // tiles and 96 buckets (99 items, the most beside the journal entry); from 161 they grow three.
    const spread = changesOf(
      Array.from({ length: 96 }, (_, n) =>
        sealRecord('acme', idFor(at + 128 * (n + 1), 0), at + 128 * (n + 1), { action_type: 'pack' }),
      ),
      200,
    );

    // Act: A's first attempt fails on the moved head; its retry, from 161, stages 101 items.
    const outcome = await deriveChanges({ journal, steps: [a] }, spread);

    // Assess: the delivery stops before the chunk, which is not journaled and wrote nothing…
    expect(outcome.resumeAt).toBe(spread[0]?.sequenceNumber);
    expect(String(outcome.error)).toMatch(/outgrew DynamoDB's 100 items \(101\)/);
    expect(await journal.find('tlog', spread[0]?.eventId as string)).toBeUndefined();
    expect((await store.head('acme'))?.size).toBe(161);
    // …and the redelivery, counted at the most, fits and appends every entry once.
    expect((await deriveChanges({ journal, steps: [a] }, spread)).resumeAt).toBeUndefined();
    expect((await store.head('acme'))?.size).toBe(257);
  });
});

describe('a small delivery, counters and log in one transaction', () => {
  const changes = (records: readonly AuditRecord[]): ChangeRecord[] =>
    records.map((record, n) => ({
      eventId: randomUUID(),
      sequenceNumber: String(7000 + n),
      kind: 'insert',
      newImage: recordToItem(record),
    }));

  it.each([
    ['commits', undefined],
    ['fails before its commit', 'before'],
    ['fails after its commit', 'after'],
  ] as const)('applies each record once to both when the joint write %s', async (_case, failing) => {
    // Prepare: the service's two steps on a client whose first TransactWriteItems may fail.
    const tables = await createTables();
    const { doc } = tables;
    const transactions: number[] = [];
    injectFault(
      doc,
      'joint-write-fault',
      (command, input) => {
        if (command !== 'TransactWriteItemsCommand') return undefined;
        transactions.push((input.TransactItems as unknown[] | undefined)?.length ?? 0);
        return transactions.length === 1 ? failing : undefined;
      },
      () =>
        failing === 'before'
          ? awsError('ProcessExited', 'the joint write never left')
          : awsError('TimeoutError', 'the joint write committed, its answer was lost'),
    );
    const journal = new DynamoDbDerivationJournal(doc, { controlTable: tables.control });
    const deps = {
      journal,
      steps: [
        new DynamoDbSequencerStep(doc, { controlTable: tables.control }),
        new DynamoDbCounterStep(doc, { controlTable: tables.control }),
      ],
      joint: new DynamoDbJointCommit(doc),
    };
    const records = Array.from({ length: 30 }, (_, n) =>
      sealRecord('acme', idFor(BASE + n, 0), BASE + n, { action_type: `joint.${n % 3}` }),
    );
    const delivery = changes(records);

    // Act: the delivery, then the same delivery again (a retry after an unanswered invocation).
    const outcome = await deriveChanges(deps, delivery);
    const again = await deriveChanges(deps, delivery);

    // Assess
    expect(outcome.resumeAt).toBeUndefined();
    expect(again).toEqual({ skipped: { tlog: 30, counters: 30 } });
    // One transaction when it commits; after a failed one, each step's own (a lost answer: both
    // find their journal entries and write nothing).
    expect(transactions.length).toBe(failing === undefined ? 1 : 3);
    expect(transactions[0]).toBeGreaterThan(10);
    await expectSequenced(tables, 'acme', records);
    await expectCounted(tables, deps.steps, 'acme', 30);
  });

  it('leaves a delivery the steps cut differently to each step', async () => {
    const tables = await createTables();
    const { doc } = tables;
    let transactions = 0;
    injectFault(
      doc,
      'count-transactions',
      (command) => {
        if (command === 'TransactWriteItemsCommand') transactions += 1;
        return undefined;
      },
      () => new Error('never thrown'),
    );
    const steps = [
      new DynamoDbSequencerStep(doc, { controlTable: tables.control }),
      new DynamoDbCounterStep(doc, { controlTable: tables.control }),
    ];
    const records = Array.from({ length: 250 }, (_, n) =>
      sealRecord('acme', idFor(BASE + n, 0), BASE + n, { action_type: 'split' }),
    );
    const journal = new DynamoDbDerivationJournal(tables.doc, { controlTable: tables.control });
    const outcome = await deriveChanges(
      { journal, steps, joint: new DynamoDbJointCommit(doc) },
      changes(records),
    );
    expect(outcome.resumeAt).toBeUndefined();
    // The log takes the 250 whole, the counters in chunks of 100: four transactions.
    expect(transactions).toBe(4);
    await expectSequenced(tables, 'acme', records);
    await expectCounted(tables, steps, 'acme', 250);
  });
});
