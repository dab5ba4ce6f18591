import { idFor } from '../../lambdas/domain/ids.js';
import { sealRecord } from '../../lambdas/domain/record.js';
import type { ChangeRecord } from '../../lambdas/ports/derivation.js';
import { type StreamBatchHandler, startStreamConsumer } from '../../local/stream-consumer.js';
import { createStreamTables, type StreamTables, writeRecords } from '../helpers/stream-tables.js';

/**
 * The local stream consumer's delivery semantics (Lambda's event source mapping): each shard's
 * records in stream order, a batch read ahead while the one before it is handled, and a failed
 * batch delivered again from where it failed, never overtaken by the batch read ahead behind it.
 */

const endpoint = process.env.TEST_DYNAMODB_ENDPOINT as string;
const BASE = Date.UTC(2026, 10, 30, 8);

/** Writes `count` entries of `tenant`, 25 a call, so that the stream holds `count` records. */
const writeEntries = async (tables: StreamTables, tenant: string, count: number): Promise<void> => {
  const records = Array.from({ length: count }, (_, n) =>
    sealRecord(tenant, idFor(BASE + n, n % 1024), BASE + n, { action_type: `action.${n % 3}` }),
  );
  await writeRecords(tables, records);
};

/** A consumer of `tables`' stream handing each delivery to `handle`. */
const consume = (tables: StreamTables, batchSize: number, handle: StreamBatchHandler) =>
  startStreamConsumer({ endpoint, streamArn: tables.streamArn, batchSize, retryMs: 10, handle });

/** Every delivery's records, in delivery order. */
type Deliveries = (readonly ChangeRecord[])[];

/** The stream's records in order, read once by a consumer that handles everything. */
const streamOrder = async (tables: StreamTables): Promise<string[]> => {
  const seen: string[] = [];
  const reader = consume(tables, 1000, async (records) => {
    seen.push(...records.map((record) => record.sequenceNumber));
    return {};
  });
  await reader.settle();
  await reader.stop();
  return seen;
};

describe('the local stream consumer', () => {
  it('reads the next batch while one is handled and delivers every record once, in stream order', async () => {
    // Prepare: 400 records behind the consumer: 8 full batches of 50.
    const tables = await createStreamTables();
    await writeEntries(tables, 'order', 400);
    const deliveries: Deliveries = [];
    let handling = 0;
    let overlapped = 0;

    // Act: one batch at a time is handled (a second one would overlap the first).
    const running = consume(tables, 50, async (records) => {
      handling += 1;
      if (handling > 1) overlapped += 1;
      deliveries.push(records);
      await new Promise((resolve) => setTimeout(resolve, 20));
      handling -= 1;
      return {};
    });
    await running.settle();
    await running.stop();

    // Assess
    const order = await streamOrder(tables);
    expect(order).toHaveLength(400);
    expect(overlapped).toBe(0);
    expect(deliveries.flat().map((record) => record.sequenceNumber)).toEqual(order);
    expect(deliveries.map((records) => records.length)).toEqual(Array<number>(8).fill(50));
    // Every batch after the first was read while the one before it was handled.
    expect(running.stats.readAhead).toBe(7);
    expect(running.stats).toMatchObject({ handled: 400, batches: 8, failures: 0 });
  });

  it('delivers a batch that threw again whole before the batch read ahead behind it', async () => {
    // Prepare
    const tables = await createStreamTables();
    await writeEntries(tables, 'retry', 300);
    const deliveries: Deliveries = [];
    let thrown = 0;

    // Act: the third delivery throws, twice (its read-ahead batch was in flight each time).
    const running = consume(tables, 50, async (records) => {
      deliveries.push(records);
      if (deliveries.length >= 3 && thrown < 2) {
        thrown += 1;
        throw new Error('the handler failed');
      }
      return {};
    });
    await running.settle();
    await running.stop();

    // Assess
    const order = await streamOrder(tables);
    const firsts = deliveries.map((records) => records[0]?.sequenceNumber);
    expect(firsts.slice(0, 5)).toEqual([order[0], order[50], order[100], order[100], order[100]]);
    expect(deliveries[3]).toEqual(deliveries[2]);
    expect(deliveries[4]).toEqual(deliveries[2]);
    // The successful deliveries tile the stream: nothing skipped, nothing twice.
    const succeeded = deliveries.filter((_, index) => index < 2 || index > 3);
    expect(succeeded.flat().map((record) => record.sequenceNumber)).toEqual(order);
    expect(running.stats).toMatchObject({ handled: 300, failures: 2 });
  });

  it('resumes a batch answered with resumeAt at that record, not at the batch read ahead', async () => {
    // Prepare
    const tables = await createStreamTables();
    await writeEntries(tables, 'resume', 300);
    const deliveries: Deliveries = [];
    let resumed = false;

    // Act: the second delivery applies its first 20 records and hands back the rest.
    const running = consume(tables, 50, async (records) => {
      deliveries.push(records);
      if (deliveries.length === 2 && !resumed) {
        resumed = true;
        return { resumeAt: (records[20] as ChangeRecord).sequenceNumber };
      }
      return {};
    });
    await running.settle();
    await running.stop();

    // Assess
    const order = await streamOrder(tables);
    expect(deliveries[2]?.[0]?.sequenceNumber).toBe(order[70]);
    const applied = [
      ...(deliveries[0] ?? []),
      ...(deliveries[1] ?? []).slice(0, 20),
      ...deliveries.slice(2).flat(),
    ];
    expect(applied.map((record) => record.sequenceNumber)).toEqual(order);
    expect(running.stats).toMatchObject({ handled: 300, failures: 1 });
  });

  it('settles only once records written while it reads ahead are handled too', async () => {
    // Prepare: a consumer busy with full batches when more records arrive.
    const tables = await createStreamTables();
    await writeEntries(tables, 'settle', 200);
    const handled: string[] = [];
    const running = consume(tables, 50, async (records) => {
      handled.push(...records.map((record) => record.sequenceNumber));
      await new Promise((resolve) => setTimeout(resolve, 10));
      return {};
    });

    // Act
    await writeEntries(tables, 'settle-more', 130);
    await running.settle();
    const atSettle = handled.length;
    await running.stop();

    // Assess
    expect(atSettle).toBe(330);
    expect(handled).toEqual(await streamOrder(tables));
  });
});
