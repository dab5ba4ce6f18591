/**
 * `npm run seed -- --tenant T --events N --days D [--concurrency C] [--seed S] [--repair]`
 *
 * Fills a tenant with realistic mixed events spread over the last D days: canary console actions,
 * kore admin actions and api-key request records (scripts/seed-events.ts).
 *
 * The run walks the D days oldest first, in time windows of ~20,000 events. When the tenant has
 * no entry in the run's range, it writes in bulk (scripts/seed-bulk.ts: the tenant claimed by a
 * marker, ids unique by construction, BatchWriteItem for entries, `--repair` to release the tenant
 * after a hard kill). Otherwise it goes through the event store's append (reserved ids, plain
 * writes), safe next to existing entries. Either way the entries are counted like every other by
 * the events table's stream consumer (docs/architecture.md, "The write path"): the seed watches the
 * tenant's counters over the run's hours and ends once they hold every entry it stored; see
 * docs/ingest.md for the rules and measured speeds.
 *
 * Target, first that applies:
 * 1. the service configuration's variables when EVENTS_TABLE and CONTROL_TABLE are set (with
 *    AWS_REGION, DYNAMODB_ENDPOINT: real AWS with the default credential chain when no endpoint
 *    is given);
 * 2. the running local stack (`npm start`, in memory or not), found in .local/endpoints.json: its
 *    own DynamoDB Local, next to the live service (the bulk path is safe next to live writers),
 *    whose stream consumer counts the entries;
 * 3. otherwise the local stack's tables (audit-events, audit-control) in a DynamoDB Local on
 *    .local/data started for the run. It claims .local/data first (local/data-lock.ts), so
 *    `npm start` cannot start on it meanwhile, and it refuses if something else holds it. No
 *    stack runs there to count, so the seed runs the stack's stream consumer in this process
 *    (checkpoints in the control table, where `npm start` resumes).
 *
 * Progress goes to stderr (entries stored, entries counted): a line at every 10 % and every 3 s;
 * the summary line to stdout.
 */
import { Command, InvalidArgumentError } from 'commander';
import * as z from 'zod';
import { createDynamoDbDocumentClient } from '../lambdas/adapters/aws-clients.js';
import { DynamoDbCounterStore } from '../lambdas/adapters/dynamodb-counter-store.js';
import { DynamoDbEventStore } from '../lambdas/adapters/dynamodb-event-store.js';
import { DynamoDbTenantStore } from '../lambdas/adapters/dynamodb-tenant-store.js';
import { validateServiceDrafts } from '../lambdas/domain/event-schema.js';
import type { EventDraft } from '../lambdas/domain/record.js';
import { DAY_MS, hourOf } from '../lambdas/domain/time.js';
import type { CounterStore } from '../lambdas/ports/counter-store.js';
import { registerTenant } from '../lambdas/use-cases/register-tenant.js';
import { createResources, startEmulators } from '../local/emulators.js';
import { startLocalDerivation } from '../local/stack.js';
import type { LocalStreamConsumer } from '../local/stream-consumer.js';
import { readLocalEndpoints } from './local-endpoints.js';
import { BulkSeeder } from './seed-bulk.js';
import { batchesOf, seedWindows, windowEvents } from './seed-plan.js';
import { tenantOption } from './tenant-option.js';

/** Events generated and ordered at once: a stretch of time short enough to share counters. */
const EVENTS_PER_WINDOW = 20_000;
/** Events per append call when writing through the event store. */
const EVENTS_PER_BATCH = 400;
/** Pause between reads of the counters while the stream consumer catches up. */
const COUNT_POLL_MS = 250;
/** The run's timestamps end this long before it starts. */
const RANGE_MARGIN_MS = 60_000;

/**
 * For a tenant that already has entries in the range: the event store's append (ids reserved, so
 * nothing existing is overwritten), in batches ordered by hour, action and actor.
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
        progress.stored(batch.length);
      }
    }),
  );
};

/**
 * Reports progress on stderr as the run goes: entries stored (each BatchWriteItem or append) and
 * entries counted (what the stream consumer has added to the tenant's counters over the run's
 * hours, never more than stored). The run is done when every entry is stored and counted, so the
 * percentage and the time left are over both. A line whenever another 10 % is done, and every 3 s
 * in between (a stall shows too).
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

  /** Entries the stream consumer has counted so far. */
  get countedSoFar(): number {
    return this.#counted;
  }

  stored(count: number): void {
    this.#stored += count;
    this.#step();
  }

  /** The counters now hold `count` of the run's entries (capped at those stored). */
  countedNow(count: number): void {
    const counted = Math.min(this.#stored, Math.max(this.#counted, count));
    if (counted === this.#counted) return;
    this.#counted = counted;
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
    DYNAMODB_LOCAL_DATABASE: z.string().min(1).optional(),
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
    .option('--repair', 'free the tenant from a cut-off seed (what it stored stays, and is counted)')
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
  /** The stream consumer this run starts itself (on .local/data, where no stack runs). */
  let consumer: LocalStreamConsumer | undefined;
  let tables: { eventsTable: string; controlTable: string };
  let endpoint = environment.DYNAMODB_ENDPOINT;
  let database = environment.DYNAMODB_LOCAL_DATABASE;
  const running = readLocalEndpoints();
  if (environment.EVENTS_TABLE || environment.CONTROL_TABLE) {
    if (!environment.EVENTS_TABLE || !environment.CONTROL_TABLE)
      throw new Error('Set both EVENTS_TABLE and CONTROL_TABLE (or neither, for the local stack).');
    tables = { eventsTable: environment.EVENTS_TABLE, controlTable: environment.CONTROL_TABLE };
  } else if (running?.env.EVENTS_TABLE && running.env.CONTROL_TABLE && running.env.DYNAMODB_ENDPOINT) {
    // The stack's own DynamoDB Local: a second one on its data folder would corrupt it.
    endpoint = running.env.DYNAMODB_ENDPOINT;
    database = running.env.DYNAMODB_LOCAL_DATABASE;
    tables = { eventsTable: running.env.EVENTS_TABLE, controlTable: running.env.CONTROL_TABLE };
    process.stderr.write(
      `seed: writing to the running local stack (${running.url}${running.inMemory ? ', in memory' : ''})\n`,
    );
  } else {
    const emulators = await startEmulators({ dataDir: '.local/data', owner: 'npm run seed' });
    stopEmulators = emulators.stop;
    endpoint = emulators.dynamoDbEndpoint;
    const names = {
      eventsTable: 'audit-events',
      controlTable: 'audit-control',
      exportsBucket: 'audit-exports',
      archiveBucket: 'audit-archive',
    };
    tables = { eventsTable: names.eventsTable, controlTable: names.controlTable };
    await createResources(emulators, names);
    // No stack runs here to derive counters: this run counts with the stack's own consumer, which
    // also catches up on anything earlier writes left uncounted.
    if (!options.repair) consumer = await startLocalDerivation(emulators, names);
  }
  const doc = createDynamoDbDocumentClient({
    region: environment.AWS_REGION,
    ...(endpoint ? { dynamoDbEndpoint: endpoint } : {}),
    ...(endpoint && database ? { dynamoDbDatabase: database } : {}),
  });
  try {
    const seeder = new BulkSeeder(doc, tables, options.tenant, options.concurrency);
    if (options.repair) {
      const released = await seeder.release();
      process.stdout.write(
        released === undefined
          ? `Tenant ${options.tenant} has no cut-off seed run: nothing to repair\n`
          : `Released tenant ${options.tenant} from a cut-off seed run; the ${released.stored} entries the tenant has in its range stay, counted by the stream consumer; the tenant is free to seed again\n`,
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
    const counters = new DynamoDbCounterStore(doc, { controlTable: tables.controlTable });
    const counted = await runCounted(counters, options.tenant, from, to);
    const bulk = await seeder.begin(from, to);
    if (!bulk) {
      process.stderr.write(
        `seed: tenant ${options.tenant} already has entries in the last ${options.days} days; writing through the event store (slower, safe next to existing entries)\n`,
      );
    }
    let finished = false;
    const watching = (async () => {
      // The consumer counts behind the writes: follow it while writing, and until it holds them all.
      while (!stop.signal.aborted) {
        progress.countedNow(await counted());
        if (finished && progress.countedSoFar >= progress.written) return;
        await pause(COUNT_POLL_MS);
      }
    })();
    try {
      try {
        const store = new DynamoDbEventStore(doc, tables);
        for (const window of windows) {
          if (stop.signal.aborted) break;
          const drafts = windowEvents(window, options.seed);
          if (bulk) await seeder.write(drafts, (count) => progress.stored(count), stop.signal);
          else await appendAll(store, options.tenant, drafts, options.concurrency, progress, stop.signal);
        }
      } finally {
        // Stored entries are counted by the consumer whatever happens next: the claim can go.
        await seeder.finish();
      }
      finished = true;
      if (!stop.signal.aborted)
        process.stderr.write(
          `seed: ${progress.written} events stored; waiting for the stream consumer to count them (Ctrl-C stops waiting, the counting goes on)\n`,
        );
      await watching;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      stop.abort();
      await watching.catch(() => undefined);
      throw new Error(
        `${message}\n${progress.written} of ${options.events} events were stored before this failure; the stream consumer counts them`,
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
        `seed: stopped: ${progress.written} of ${options.events} events stored, ${progress.countedSoFar} counted so far (${consumer ? 'the rest is counted before the seed exits' : 'the stream consumer counts the rest'})\n`,
      );
      process.exitCode = 130;
    } else {
      process.stdout.write(
        `Seeded ${options.events} events for tenant ${options.tenant} over ${options.days} days in ${seconds.toFixed(1)} s (${Math.round(options.events / seconds)} events/s, ${bulk ? 'bulk' : 'event store'}), all counted\n`,
      );
    }
  } finally {
    doc.destroy();
    if (consumer) {
      // Whatever this run stored is counted before the data folder is handed back.
      await consumer.settle();
      await consumer.stop();
    }
    await stopEmulators?.();
  }
};

/**
 * How many of the run's entries the tenant's counters hold: the counts of every hour the run's
 * range touches, less what they held before the run. The range was claimed and ends a minute
 * before the run started, so only the run adds to it. (An entry another writer stamps into the
 * range's last hour during the run, or one written just before the run and not yet counted, would
 * be counted too; the figure never exceeds the entries stored.)
 */
const runCounted = async (
  counters: CounterStore,
  tenant: string,
  from: number,
  to: number,
): Promise<() => Promise<number>> => {
  const sum = async () =>
    (await counters.bucketCounts(tenant, { kind: 'all' }, 'hour', hourOf(from), hourOf(to))).reduce(
      (total, bucket) => total + bucket.count,
      0,
    );
  const before = await sum();
  return async () => (await sum()) - before;
};

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
