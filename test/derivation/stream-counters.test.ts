import { randomBytes, randomUUID } from 'node:crypto';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { DynamoDbCounterStore } from '../../lambdas/adapters/dynamodb-counter-store.js';
import {
  DynamoDbCounterStep,
  DynamoDbDerivationJournal,
} from '../../lambdas/adapters/dynamodb-derivation.js';
import { journalKey } from '../../lambdas/adapters/dynamodb-keys.js';
import { idFor } from '../../lambdas/domain/ids.js';
import { type AuditRecord, sealRecord } from '../../lambdas/domain/record.js';
import type { ChangeRecord, DerivationStep } from '../../lambdas/ports/derivation.js';
import { deriveChanges } from '../../lambdas/use-cases/derive-changes.js';
import { type LocalStreamConsumer, startStreamConsumer } from '../../local/stream-consumer.js';
import { awsError } from '../helpers/faults.js';
import { createStreamTables, type StreamTables, writeRecords } from '../helpers/stream-tables.js';

const endpoint = process.env.TEST_DYNAMODB_ENDPOINT as string;
const HOUR = 3_600_000;
const BASE = Date.UTC(2026, 10, 30, 8);

type Tables = StreamTables;
const createTables = createStreamTables;

/** `count` entries of `tenant` over a few hours and actions, written raw, 25 a call. */
const writeEntries = async (
  tables: Tables,
  tenant: string,
  count: number,
  offset = 0,
): Promise<AuditRecord[]> => {
  const records = Array.from({ length: count }, (_, index) => {
    const n = index + offset;
    const timestamp = BASE + (n % 3) * HOUR + n;
    return sealRecord(tenant, idFor(timestamp, n % 1024), timestamp, {
      action_type: `action.${n % 4}`,
      ...(n % 5 === 0 ? {} : { user: `user-${n % 3}` }),
    });
  });
  await writeRecords(tables, records);
  return records;
};

const consumer = (
  tables: Tables,
  steps: DerivationStep[],
  options: { batchSize?: number; handleWrap?: (records: readonly ChangeRecord[]) => void } = {},
): LocalStreamConsumer =>
  startStreamConsumer({
    endpoint,
    streamArn: tables.streamArn,
    batchSize: options.batchSize ?? 100,
    retryMs: 10,
    handle: async (records) => {
      options.handleWrap?.(records);
      const outcome = await deriveChanges(
        { journal: new DynamoDbDerivationJournal(tables.doc, { controlTable: tables.control }), steps },
        records,
      );
      return outcome.resumeAt !== undefined ? { resumeAt: outcome.resumeAt } : {};
    },
  });

/** Every counter of `tenant`, as readers see it, against a recount of `records`. */
const expectCounted = async (tables: Tables, tenant: string, records: readonly AuditRecord[]) => {
  const counters = new DynamoDbCounterStore(tables.doc, { controlTable: tables.control });
  expect(await counters.total(tenant, { kind: 'all' })).toBe(records.length);
  for (const action of ['action.0', 'action.1', 'action.2', 'action.3']) {
    expect(await counters.total(tenant, { kind: 'action', action })).toBe(
      records.filter((record) => record.action_type === action).length,
    );
  }
  const hours = await counters.bucketCounts(tenant, { kind: 'all' }, 'hour', 0, 10_000_000);
  const expected = new Map<number, number>();
  for (const record of records) {
    const hour = Math.floor(record.timestamp / HOUR);
    expected.set(hour, (expected.get(hour) ?? 0) + 1);
  }
  expect(hours).toEqual(
    [...expected].sort(([a], [b]) => a - b).map(([bucket, count]) => ({ bucket, count })),
  );
  const actors = await counters.bucketCounts(
    tenant,
    { kind: 'actor', actor: 'user-1' },
    'hour',
    0,
    10_000_000,
  );
  expect(actors.reduce((sum, { count }) => sum + count, 0)).toBe(
    records.filter((record) => record.user === 'user-1').length,
  );
};

describe('rollup counters derived from the events stream', () => {
  it('counts every entry written with plain BatchWriteItem once the consumer has caught up', async () => {
    const tables = await createTables();
    const step = new DynamoDbCounterStep(tables.doc, { controlTable: tables.control });
    const running = consumer(tables, [step]);
    const records = await writeEntries(tables, 'acme', 730);
    await running.settle();
    await expectCounted(tables, 'acme', records);
    expect(running.stats.handled).toBe(730);
    await running.stop();
  });

  it('counts nothing twice when the whole stream is delivered again (a consumer without its checkpoints)', async () => {
    const tables = await createTables();
    const step = new DynamoDbCounterStep(tables.doc, { controlTable: tables.control });
    const first = consumer(tables, [step], { batchSize: 37 });
    const records = await writeEntries(tables, 'acme', 300);
    await first.settle();
    await first.stop();
    // A second consumer reads the shard again from its start, in different batches.
    const again = consumer(tables, [step], { batchSize: 64 });
    await again.settle();
    expect(again.stats.handled).toBe(300);
    await expectCounted(tables, 'acme', records);
    await again.stop();
  });

  it('counts nothing twice when the consumer dies after applying a chunk, and nothing is lost', async () => {
    const tables = await createTables();
    const real = new DynamoDbCounterStep(tables.doc, { controlTable: tables.control });
    let crashes = 0;
    // Dies after its transaction committed, before answering: the batch comes back whole.
    const dying: DerivationStep = {
      name: real.name,
      packer: () => real.packer(),
      apply: async (chunk, entry) => {
        const result = await real.apply(chunk, entry);
        if (crashes < 3 && chunk.length > 1) {
          crashes += 1;
          throw awsError('ProcessExited', 'the consumer died after committing');
        }
        return result;
      },
    };
    const running = consumer(tables, [dying], { batchSize: 250 });
    const records = await writeEntries(tables, 'acme', 500);
    await running.settle();
    expect(crashes).toBe(3);
    expect(running.stats.failures).toBeGreaterThanOrEqual(3);
    await expectCounted(tables, 'acme', records);
    await running.stop();
  });

  it('retries a throttled counter update and counts it once', async () => {
    const tables = await createTables();
    const send = tables.doc.send.bind(tables.doc);
    let throttled = 0;
    // The emulator never throttles: the first transactions are refused as DynamoDB would.
    const doc = Object.create(tables.doc) as DynamoDBDocumentClient;
    doc.send = (async (command: unknown) => {
      if (command instanceof TransactWriteCommand && throttled < 5) {
        throttled += 1;
        throw awsError('ThrottlingException', 'Rate exceeded');
      }
      return send(command as never);
    }) as DynamoDBDocumentClient['send'];
    const step = new DynamoDbCounterStep(doc, {
      controlTable: tables.control,
      backoff: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
    });
    const running = consumer(tables, [step]);
    const records = await writeEntries(tables, 'acme', 120);
    await running.settle();
    expect(throttled).toBe(5);
    // Three attempts within the step, then the batch resumed from the failed chunk.
    expect(running.stats.failures).toBeGreaterThanOrEqual(1);
    await expectCounted(tables, 'acme', records);
    await running.stop();
  });

  it('writes each hot counter item once per chunk, not once per entry', async () => {
    const tables = await createTables();
    const step = new DynamoDbCounterStep(tables.doc, { controlTable: tables.control });
    const send = tables.doc.send.bind(tables.doc);
    const writes = new Map<string, number>();
    const doc = Object.create(tables.doc) as DynamoDBDocumentClient;
    doc.send = (async (command: unknown) => {
      if (command instanceof TransactWriteCommand) {
        for (const item of command.input.TransactItems ?? []) {
          const key = item.Update?.Key;
          if (key) writes.set(`${key.pk}|${key.sk}`, (writes.get(`${key.pk}|${key.sk}`) ?? 0) + 1);
        }
      }
      return send(command as never);
    }) as DynamoDBDocumentClient['send'];
    const counting = new DynamoDbCounterStep(doc, { controlTable: tables.control });
    const running = consumer(tables, [counting], { batchSize: 100 });
    const records = await writeEntries(tables, 'acme', 1000);
    await running.settle();
    await expectCounted(tables, 'acme', records);
    const hottest = Math.max(...writes.values());
    // 1,000 entries arrive in at least 10 batches; no counter item is written more than once per chunk.
    expect(hottest).toBeLessThanOrEqual(running.stats.batches * 2);
    expect(hottest).toBeLessThan(records.length / 5);
    expect(step.name).toBe('counters');
    await running.stop();
  });

  it('packs the stream event ids a journal entry lists, and reads every form it was written in', async () => {
    const tables = await createTables();
    const journal = new DynamoDbDerivationJournal(tables.doc, { controlTable: tables.control });
    const item = async (key: string) =>
      (await tables.doc.send(new GetCommand({ TableName: tables.control, Key: journalKey('counters', key) })))
        .Item;
    // DynamoDB Streams' ids (32 hex digits) and DynamoDB Local's (UUIDs): 16 bytes each.
    const hex = Array.from({ length: 500 }, () => randomBytes(16).toString('hex'));
    await journal.alias({ step: 'counters', key: hex[0] as string, members: hex });
    expect(await journal.find('counters', hex[0] as string)).toEqual(hex);
    expect((await item(hex[0] as string))?.packed).toHaveLength(500 * 16);
    const uuids = Array.from({ length: 3 }, () => randomUUID());
    await journal.alias({ step: 'counters', key: uuids[0] as string, members: uuids });
    expect(await journal.find('counters', uuids[0] as string)).toEqual(uuids);
    // Any other ids (a mix, upper case, other text) as they are.
    const others = ['e1', 'e"2', hex[1] as string, (hex[2] as string).toUpperCase()];
    await journal.alias({ step: 'counters', key: 'e1', members: others });
    expect(await journal.find('counters', 'e1')).toEqual(others);
    // The layout before: the members as a list.
    await tables.doc.send(
      new PutCommand({
        TableName: tables.control,
        Item: { ...journalKey('counters', 'e7'), members: ['e7', 'e8'] },
      }),
    );
    expect(await journal.find('counters', 'e7')).toEqual(['e7', 'e8']);
    expect(await journal.find('counters', 'e9')).toBeUndefined();
  });
});
