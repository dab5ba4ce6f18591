/**
 * `npm run seed -- --tenant T --events N --days D [--concurrency C] [--seed S] [--repair]`
 *
 * Fills a tenant with realistic mixed events spread over the last D days: canary console actions,
 * kore admin actions and api-key request records (scripts/seed-events.ts).
 *
 * The run walks the D days oldest first, in time windows of ~20,000 events. When the tenant has
 * no entry in the run's range, it writes in bulk (scripts/seed-bulk.ts: the tenant claimed by a
 * marker, ids unique by construction, BatchWriteItem for entries, each hour's counters in one
 * idempotent transaction, `--repair` after a hard kill). Otherwise it goes through the event
 * store's transactions (entries and their counters together, conditional puts), each window
 * ordered by hour, action and actor so transactions share counters. Either way ids are unique and
 * counters exact; see docs/ingest.md for the rules and measured speeds.
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
import { DynamoDbTenantStore } from '../lambdas/adapters/dynamodb-tenant-store.js';
import { validateServiceDrafts } from '../lambdas/domain/event-schema.js';
import type { EventDraft } from '../lambdas/domain/record.js';
import { DAY_MS } from '../lambdas/domain/time.js';
import { isValidTenant } from '../lambdas/domain/tokens.js';
import { registerTenant } from '../lambdas/use-cases/register-tenant.js';
import { createResources, startEmulators } from '../local/emulators.js';
import { BulkSeeder } from './seed-bulk.js';
import { batchesOf, seedWindows, windowEvents } from './seed-plan.js';

/** Events generated and ordered at once: a stretch of time short enough to share counters. */
const EVENTS_PER_WINDOW = 20_000;
/** Events per append call on the transactional path; the store packs them into transactions. */
const EVENTS_PER_BATCH = 400;
/** The run's timestamps end this long before it starts. */
const RANGE_MARGIN_MS = 60_000;

/**
 * The transactional path, for a tenant that already has entries in the range: the event store's
 * append (conditional puts, each transaction with its counters), in batches ordered by hour,
 * action and actor so that transactions share counters.
 */
const appendAll = async (
  store: DynamoDbEventStore,
  tenant: string,
  drafts: EventDraft[],
  concurrency: number,
  progress: Progress,
  signal: AbortSignal,
) => {
  const batches = batchesOf(drafts, EVENTS_PER_BATCH);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, batches.length) }, async () => {
      for (let batch = batches[next++]; batch && !signal.aborted; batch = batches[next++]) {
        await store.append(tenant, batch);
        progress.add(batch.length);
      }
    }),
  );
};

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
    .option('--repair', 'count what a cut-off seed of the tenant wrote, and free the tenant')
    .parse()
    .opts<{
      tenant: string;
      events: number;
      days: number;
      concurrency: number;
      seed: number;
      repair?: boolean;
    }>();

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
  const doc = createDynamoDbDocumentClient({
    region: environment.AWS_REGION,
    ...(endpoint ? { dynamoDbEndpoint: endpoint } : {}),
  });
  try {
    const seeder = new BulkSeeder(doc, tables, options.tenant, options.concurrency);
    if (options.repair) {
      const counted = await seeder.repair();
      process.stdout.write(
        counted === undefined
          ? `Tenant ${options.tenant} has no cut-off seed run: nothing to repair\n`
          : `Counted the ${counted} entries a cut-off seed of tenant ${options.tenant} wrote past its last counted hour; the tenant is free to seed again\n`,
      );
      return;
    }
    const started = Date.now();
    // A seeded tenant is a tenant: the retention scheduler must know it.
    await registerTenant(
      new DynamoDbTenantStore(doc, { controlTable: tables.controlTable }),
      options.tenant,
      started,
    );
    // Timestamps end a minute before the run starts: writers stamping "now" stay out of its range.
    const to = started - RANGE_MARGIN_MS;
    const from = to - options.days * DAY_MS + 1;
    const windows = seedWindows(options.events, options.days, to, EVENTS_PER_WINDOW);
    const stop = new AbortController();
    const onSignal = () => {
      process.stderr.write('seed: stopping after the batches in flight…\n');
      stop.abort();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    // Every event of the run passes the ingest rules before anything is written, so a run never
    // stops half-way on an event the store cannot take (windows are generated again to write them).
    for (const window of windows) validateServiceDrafts(windowEvents(window, options.seed));
    const progress = new Progress(options.events, started);
    const bulk = await seeder.begin(from, to);
    if (!bulk) {
      process.stderr.write(
        `seed: tenant ${options.tenant} already has entries in the last ${options.days} days; writing through the event store's transactions (slower, safe next to existing entries)\n`,
      );
    }
    try {
      const store = new DynamoDbEventStore(doc, tables);
      for (const window of windows) {
        if (stop.signal.aborted) break;
        const drafts = windowEvents(window, options.seed);
        if (bulk) await seeder.write(drafts, (count) => progress.add(count), stop.signal);
        else await appendAll(store, options.tenant, drafts, options.concurrency, progress, stop.signal);
      }
      await seeder.finish();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      // Count what the interrupted group wrote (bulk), so counters are exact, and free the tenant.
      const repaired = await seeder.repair().then(
        () => true,
        () => false,
      );
      throw new Error(
        `${message}\n${progress.written} of ${options.events} events were written and counted before this failure${repaired ? '' : '; the run could not count its last group or free the tenant: run again with --repair'}`,
        { cause: error },
      );
    } finally {
      progress.stop();
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    }
    const seconds = (Date.now() - started) / 1000;
    if (stop.signal.aborted) {
      process.stderr.write(
        `seed: stopped: ${progress.written} of ${options.events} events written and counted\n`,
      );
      process.exitCode = 130;
    } else {
      process.stdout.write(
        `Seeded ${options.events} events for tenant ${options.tenant} over ${options.days} days in ${seconds.toFixed(1)} s (${Math.round(options.events / seconds)} events/s, ${bulk ? 'bulk' : 'transactional'})\n`,
      );
    }
  } finally {
    doc.destroy();
    await stopEmulators?.();
  }
};

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
