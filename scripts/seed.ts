/**
 * `npm run seed -- --tenant T --events N --days D [--concurrency C] [--seed S]`
 *
 * Fills a tenant with realistic mixed events spread over the last D days: canary console actions,
 * kore admin actions and api-key request records (scripts/seed-events.ts).
 *
 * Fast and exact at once: the run walks the D days in consecutive time windows of ~20,000
 * events, orders each window's events by hour, action and actor, and hands them to the event
 * store in batches. The store writes every transaction's entries together with the rollup
 * counters they touch, and events of one hour, action and actor share those counters, so a
 * transaction carries ~80-90 entries and a few counter updates (for 1M events over 30 days, 1.17
 * items per event instead of ~1.8 for a mixed batch). Every entry is a conditional put with an id
 * of its own millisecond: ids never overwrite an existing entry, even with other writers of the
 * tenant running, and a collision is retried with a fresh id. Counters are exact at every
 * moment, so an interrupted run (Ctrl-C, a crash) leaves exactly what it reports written, counted.
 *
 * Target: the service configuration's variables when EVENTS_TABLE is set (EVENTS_TABLE,
 * CONTROL_TABLE, AWS_REGION, DYNAMODB_ENDPOINT: real AWS with the default credential chain when
 * no endpoint is given). Otherwise the local stack's tables (audit-events, audit-control) in
 * DynamoDB Local on .local/data, started for the run: stop `npm start` first, since DynamoDB Local
 * keeps one writer per data directory.
 *
 * Progress goes to stderr every few seconds; the summary line to stdout.
 */
import { Command, InvalidArgumentError } from 'commander';
import * as z from 'zod';
import { createDynamoDbDocumentClient } from '../lambdas/adapters/aws-clients.js';
import { DynamoDbEventStore } from '../lambdas/adapters/dynamodb-event-store.js';
import { isValidTenant } from '../lambdas/domain/tokens.js';
import { createResources, startEmulators } from '../local/emulators.js';
import { batchesOf, seedWindows, windowEvents } from './seed-plan.js';

/** Events generated and ordered at once: a stretch of time short enough to share counters. */
const EVENTS_PER_WINDOW = 20_000;
/** Events per append call; the store packs them into transactions of ≤ 100 items. */
const EVENTS_PER_BATCH = 400;

/** Prints progress to stderr every few seconds: written, rate, time left. */
class Progress {
  written = 0;
  readonly #timer: NodeJS.Timeout;

  constructor(
    readonly total: number,
    readonly started: number,
  ) {
    this.#timer = setInterval(() => this.#print(), 3000);
    this.#timer.unref();
  }

  add(count: number): void {
    this.written += count;
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  #print(): void {
    const seconds = (Date.now() - this.started) / 1000;
    const rate = this.written / seconds;
    const left = rate > 0 ? Math.round((this.total - this.written) / rate) : undefined;
    const percent = ((100 * this.written) / this.total).toFixed(1);
    process.stderr.write(
      `seed: ${this.written}/${this.total} events (${percent} %), ${Math.round(rate)} events/s${left !== undefined ? `, about ${left} s left` : ''}\n`,
    );
  }
}

const positive = (max: number) => (value: string) => {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1 || number > max)
    throw new InvalidArgumentError(`must be an integer from 1 to ${max}`);
  return number;
};

const environment = z
  .object({
    EVENTS_TABLE: z.string().min(3).optional(),
    CONTROL_TABLE: z.string().min(3).optional(),
    AWS_REGION: z.string().min(1).default('us-east-1'),
    DYNAMODB_ENDPOINT: z.url().optional(),
  })
  .parse(process.env);

const main = async () => {
  const options = new Command()
    .name('seed')
    .description('Fill a tenant with realistic mixed audit events')
    .requiredOption('--tenant <tenant>', 'tenant to fill', (value) => {
      if (!isValidTenant(value)) throw new InvalidArgumentError('3-64 letters, digits, ".", "_" or "-"');
      return value;
    })
    .option('--events <n>', 'number of events', positive(10_000_000), 10_000)
    .option('--days <d>', 'spread over the last D days', positive(3650), 30)
    .option('--concurrency <c>', 'batches written at once', positive(256), 8)
    .option('--seed <s>', 'random seed (same seed, same events)', positive(2 ** 31), 42)
    .parse()
    .opts<{ tenant: string; events: number; days: number; concurrency: number; seed: number }>();

  let stopEmulators: (() => Promise<void>) | undefined;
  let tables: { eventsTable: string; controlTable: string };
  let endpoint = environment.DYNAMODB_ENDPOINT;
  if (environment.EVENTS_TABLE && environment.CONTROL_TABLE) {
    tables = { eventsTable: environment.EVENTS_TABLE, controlTable: environment.CONTROL_TABLE };
  } else {
    const emulators = await startEmulators({ dataDir: '.local/data' });
    stopEmulators = emulators.stop;
    endpoint = emulators.dynamoDbEndpoint;
    tables = { eventsTable: 'audit-events', controlTable: 'audit-control' };
    await createResources(emulators, {
      ...tables,
      exportsBucket: 'audit-exports',
      archiveBucket: 'audit-archive',
    });
  }
  try {
    const doc = createDynamoDbDocumentClient({
      region: environment.AWS_REGION,
      ...(endpoint ? { dynamoDbEndpoint: endpoint } : {}),
    });
    const store = new DynamoDbEventStore(doc, tables);
    const started = Date.now();
    const progress = new Progress(options.events, started);
    try {
      for (const window of seedWindows(options.events, options.days, started, EVENTS_PER_WINDOW)) {
        const batches = batchesOf(windowEvents(window, options.seed), EVENTS_PER_BATCH);
        let next = 0;
        await Promise.all(
          Array.from({ length: Math.min(options.concurrency, batches.length) }, async () => {
            for (let batch = batches[next++]; batch; batch = batches[next++]) {
              await store.append(options.tenant, batch);
              progress.add(batch.length);
            }
          }),
        );
      }
    } catch (error) {
      // Every transaction is atomic (entries with their counters), so what was written is whole.
      throw new Error(
        `${progress.written} of ${options.events} events were written and counted in completed batches, then: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    } finally {
      progress.stop();
    }
    const seconds = (Date.now() - started) / 1000;
    process.stdout.write(
      `Seeded ${options.events} events for tenant ${options.tenant} over ${options.days} days in ${seconds.toFixed(1)} s (${Math.round(options.events / seconds)} events/s)\n`,
    );
    doc.destroy();
  } finally {
    await stopEmulators?.();
  }
};

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
