/**
 * `npm run seed -- --tenant T --events N --days D [--concurrency C] [--seed S]`
 *
 * Fills a tenant with realistic mixed events spread over the last D days: canary console actions,
 * kore admin actions and api-key request records. Writes go through the event store (entries and
 * rollup counters in one transaction each), many batches at a time, so counters stay exact.
 *
 * Target: the service configuration's variables when EVENTS_TABLE is set (EVENTS_TABLE,
 * CONTROL_TABLE, AWS_REGION, DYNAMODB_ENDPOINT: real AWS with the default credential chain when
 * no endpoint is given). Otherwise the local stack's tables (audit-events, audit-control) in
 * DynamoDB Local on .local/data, started for the run: stop `npm start` first, since DynamoDB Local
 * keeps one writer per data directory.
 */
import { Command, InvalidArgumentError } from 'commander';
import * as z from 'zod';
import { createDynamoDbDocumentClient } from '../lambdas/adapters/aws-clients.js';
import { DynamoDbEventStore } from '../lambdas/adapters/dynamodb-event-store.js';
import type { EventDraft } from '../lambdas/domain/record.js';
import { DAY_MS } from '../lambdas/domain/time.js';
import { isValidTenant } from '../lambdas/domain/tokens.js';
import { demoEvents, seededRandom } from '../local/demo-data.js';
import { createResources, startEmulators } from '../local/emulators.js';

const KORE_ACTIONS = [
  ['Bot Published', 'Bot Builder', 'published bot'],
  ['User Role Changed', 'User Management', 'changed the role of'],
  ['App Credentials Created', 'Apps', 'created app credentials for'],
  ['Channel Enabled', 'Channels', 'enabled a channel for'],
  ['User Deactivated', 'User Management', 'deactivated'],
] as const;
const KORE_ADMINS = ['admin@example.com', 'ops@example.com'];
const API_URIS = ['/api/v1/audit-trail', '/api/v1/audit_trail/fetch', '/api/public/auditlogs'];
const API_KEYS = [
  { id: 'tok_seed0000000000a1', name: 'reporting' },
  { id: 'tok_seed0000000000b2', name: 'siem export' },
];

/** N mixed events over `days` days before `now`, oldest first: 60% canary, 20% kore, 20% api-key. */
export const mixedEvents = (count: number, days: number, now: number, seed: number): EventDraft[] => {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const canaryCount = Math.round(count * 0.6);
  const drafts: EventDraft[] = demoEvents({ count: canaryCount, days, now, seed });
  for (let n = canaryCount; n < count; n += 1) {
    const timestamp = now - Math.floor(random() * Math.max(1, days) * DAY_MS);
    if (random() < 0.5) {
      const [action, category, verb] = pick(KORE_ACTIONS);
      const admin = pick(KORE_ADMINS);
      drafts.push({
        timestamp,
        action_type: action.toLowerCase().replaceAll(' ', '_'),
        category,
        message: `${admin} ${verb} ${pick(['Support Bot', 'HR Bot', 'bo@example.com'])}`,
        user: admin,
        user_ip: `198.51.100.${1 + Math.floor(random() * 250)}`,
      });
    } else {
      const apiKey = pick(API_KEYS);
      const status = random() < 0.9 ? 200 : pick([400, 401, 404]);
      const uri = pick(API_URIS);
      drafts.push({
        timestamp,
        action_type: 'api_request',
        category: 'Audit trail',
        message: `GET ${uri} ${status}`,
        user_ip: `192.0.2.${1 + Math.floor(random() * 250)}`,
        api_key: apiKey,
        request: {
          uri,
          method: 'GET',
          status,
          query_parameters: { 'page[size]': String(pick([100, 1000, 30000])) },
          ...(status >= 400 ? { error: pick(['Invalid token', 'Bad request', 'Not found']) } : {}),
        },
      });
    }
  }
  return drafts.sort((a, b) => (a.timestamp ?? 0) - (b.timestamp ?? 0));
};

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
    .option('--concurrency <c>', 'batches written at once', positive(256), 32)
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
    // Generated in slices of 100k so a million events never sit in memory at once.
    const slice = 100_000;
    let written = 0;
    for (let offset = 0; offset < options.events; offset += slice) {
      const count = Math.min(slice, options.events - offset);
      const drafts = mixedEvents(count, options.days, started, options.seed + offset);
      let next = 0;
      await Promise.all(
        Array.from({ length: options.concurrency }, async () => {
          while (next < drafts.length) {
            const start = next;
            next += 100;
            await store.append(options.tenant, drafts.slice(start, start + 100));
            written += Math.min(100, drafts.length - start);
          }
        }),
      );
      const seconds = (Date.now() - started) / 1000;
      process.stdout.write(
        `${written}/${options.events} events (${Math.round(written / seconds)} events/s)\n`,
      );
    }
    doc.destroy();
  } finally {
    await stopEmulators?.();
  }
};

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
