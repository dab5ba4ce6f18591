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
 * Target, first that applies:
 * 1. the service configuration's variables when EVENTS_TABLE and CONTROL_TABLE are set (with
 *    AWS_REGION, DYNAMODB_ENDPOINT: real AWS with the default credential chain when no endpoint
 *    is given);
 * 2. the running local stack (`npm start`, in memory or not), found in .local/endpoints.json: its
 *    own DynamoDB Local, next to the live service (the bulk path is safe next to live writers);
 * 3. otherwise the local stack's tables (audit-events, audit-control) in a DynamoDB Local on
 *    .local/data started for the run. It claims .local/data first (local/data-lock.ts), so
 *    `npm start` cannot start on it meanwhile, and it refuses if something else holds it.
 *
 * Progress goes to stderr (entries stored, entries counted): a line at every 10 % and every 3 s;
 * the summary line to stdout.
 */
import { Command, InvalidArgumentError } from 'commander';
import * as z from 'zod';
import { createDynamoDbDocumentClient } from '../lambdas/adapters/aws-clients.js';
import { DynamoDbEventStore } from '../lambdas/adapters/dynamodb-event-store.js';
import { DynamoDbTenantStore } from '../lambdas/adapters/dynamodb-tenant-store.js';
import { validateServiceDrafts } from '../lambdas/domain/event-schema.js';
import type { EventDraft } from '../lambdas/domain/record.js';
import { DAY_MS } from '../lambdas/domain/time.js';
import { registerTenant } from '../lambdas/use-cases/register-tenant.js';
import { createResources, startEmulators } from '../local/emulators.js';
import { readLocalEndpoints } from './local-endpoints.js';
import { BulkSeeder } from './seed-bulk.js';
import { batchesOf, seedWindows, windowEvents } from './seed-plan.js';
import { tenantOption } from './tenant-option.js';

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
        // Each transaction carries its entries' counters: stored and counted at once.
        progress.stored(batch.length);
        progress.counted(batch.length);
      }
    }),
  );
};

/**
 * Reports progress on stderr as the run goes: entries stored (each BatchWriteItem or transaction)
 * and entries counted (each hour's counter transaction; on the transactional path both at once).
 * The run is done when every entry is stored and counted, so the percentage and the time left are
 * over both. A line whenever another 10 % is done, and every 3 s in between (a stall shows too).
 */
class Progress {
  #stored = 0;
  #counted = 0;
  #lastStep = 0;
  readonly #timer: NodeJS.Timeout;

  constructor(
    readonly total: number,
    readonly started: number,
    readonly print: (line: string) => void = (line) => process.stderr.write(line),
  ) {
    this.#timer = setInterval(() => this.#print(), 3000);
    this.#timer.unref();
  }

  /** Entries stored so far. */
  get written(): number {
    return this.#stored;
  }

  /** Entries whose rollup counters are written too (all of them, once the run ends). */
  get countedSoFar(): number {
    return this.#counted;
  }

  stored(count: number): void {
    this.#stored += count;
    this.#step();
  }

  counted(count: number): void {
    this.#counted += count;
    this.#step();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** Work done, 0 to 1: storing and counting each entry. */
  get #done(): number {
    return (this.#stored + this.#counted) / (2 * this.total);
  }

  #step(): void {
    const step = Math.floor(10 * this.#done);
    if (step > this.#lastStep) {
      this.#lastStep = step;
      this.#print();
    }
  }

  #print(): void {
    const seconds = Math.max(0.001, (Date.now() - this.started) / 1000);
    const done = this.#done;
    const left = done > 0 ? Math.round((seconds * (1 - done)) / done) : undefined;
    this.print(
      `seed: ${this.#stored}/${this.total} events stored, ${this.#counted} counted (${(100 * done).toFixed(1)} %), ${Math.round(this.#counted / seconds)} events/s${left !== undefined ? `, about ${left} s left` : ''}\n`,
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
    .requiredOption(
      '--tenant <tenant>',
      'tenant to fill (3-64 letters, digits, ".", "_" or "-")',
      tenantOption,
    )
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
  const running = readLocalEndpoints();
  if (environment.EVENTS_TABLE || environment.CONTROL_TABLE) {
    if (!environment.EVENTS_TABLE || !environment.CONTROL_TABLE)
      throw new Error('Set both EVENTS_TABLE and CONTROL_TABLE (or neither, for the local stack).');
    tables = { eventsTable: environment.EVENTS_TABLE, controlTable: environment.CONTROL_TABLE };
  } else if (running?.env.EVENTS_TABLE && running.env.CONTROL_TABLE && running.env.DYNAMODB_ENDPOINT) {
    // The stack's own DynamoDB Local: a second one on its data folder would corrupt it.
    endpoint = running.env.DYNAMODB_ENDPOINT;
    tables = { eventsTable: running.env.EVENTS_TABLE, controlTable: running.env.CONTROL_TABLE };
    process.stderr.write(
      `seed: writing to the running local stack (${running.url}${running.inMemory ? ', in memory' : ''})\n`,
    );
  } else {
    const emulators = await startEmulators({ dataDir: '.local/data', owner: 'npm run seed' });
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
        if (bulk) await seeder.write(drafts, progress, stop.signal);
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
        `${message}\n${repaired ? progress.written : progress.countedSoFar} of ${options.events} events were written and counted before this failure${repaired ? '' : '; the run could not count its last group or free the tenant: run again with --repair'}`,
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
