import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { paginateQuery, paginateScan } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { counterItemDeltas } from '../../lambdas/adapters/dynamodb-counters.js';
import { tenantCounterPrefix } from '../../lambdas/adapters/dynamodb-keys.js';
import { timestampOfId } from '../../lambdas/domain/ids.js';
import type { AuditRecord } from '../../lambdas/domain/record.js';
import { DAY_MS } from '../../lambdas/domain/time.js';
import { BulkSeeder } from '../../scripts/seed-bulk.js';
import { windowEvents } from '../../scripts/seed-plan.js';
import { startTestService, type TestService } from '../helpers/local-service.js';

const run = promisify(execFile);

/** The canary console actions demoEvents produces, the kore admin actions seed-events adds. */
const KORE_ACTIONS = new Set([
  'bot_published',
  'user_role_changed',
  'app_credentials_created',
  'channel_enabled',
  'user_deactivated',
]);

/** `npm run seed`, run as a real command against the test service's tables (EVENTS_TABLE is set). */
describe('Command: seed', () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService();
  });
  afterAll(async () => service.stop());

  const seed = (...args: string[]) =>
    run(process.execPath, ['--no-warnings', '--import', 'tsx', 'scripts/seed.ts', ...args], {
      env: {
        ...process.env,
        EVENTS_TABLE: service.services.config.EVENTS_TABLE,
        CONTROL_TABLE: service.services.config.CONTROL_TABLE,
        DYNAMODB_ENDPOINT: service.env.DYNAMODB_ENDPOINT,
        DYNAMODB_LOCAL_DATABASE: service.env.DYNAMODB_LOCAL_DATABASE,
        AWS_REGION: 'us-east-1',
      },
    });

  const entriesOf = async (tenant: string): Promise<Record<string, unknown>[]> => {
    const items: Record<string, unknown>[] = [];
    for await (const output of paginateQuery(
      { client: service.services.doc },
      {
        TableName: service.services.config.EVENTS_TABLE,
        KeyConditionExpression: 'tenant = :t',
        ExpressionAttributeValues: { ':t': tenant },
        ConsistentRead: true,
      },
    )) {
      items.push(...(output.Items ?? []));
    }
    return items;
  };

  /** Every counter of `tenant`, shards added up, keyed like counterDeltas' keys without the shard. */
  const countersOf = async (tenant: string): Promise<Record<string, number>> => {
    const counters: Record<string, number> = {};
    for await (const output of paginateScan(
      { client: service.services.doc },
      {
        TableName: service.services.config.CONTROL_TABLE,
        ConsistentRead: true,
      },
    )) {
      for (const item of output.Items ?? []) {
        if (!String(item.pk).startsWith(tenantCounterPrefix(tenant))) continue;
        const id = `${String(item.pk)}|${String(item.sk).replace(/\d+$/, '')}`;
        counters[id] = (counters[id] ?? 0) + Number(item.n);
      }
    }
    return counters;
  };

  /** The counters that counting `tenant`'s stored entries gives, keyed like countersOf. */
  const countedCounters = async (tenant: string): Promise<Record<string, number>> => {
    const expected: Record<string, number> = {};
    const entries = await entriesOf(tenant);
    for (const { key, delta } of counterItemDeltas(entries as unknown as AuditRecord[], 1, 0))
      expected[`${key.pk}|${key.sk.replace(/\d+$/, '')}`] = delta;
    return expected;
  };

  it('writes exactly N mixed events within D days, with unique ids, and ends once the consumer counted them exactly', async () => {
    // Prepare
    const before = Date.now();

    // Act
    const { stdout } = await seed('--tenant', 'seeded', '--events', '600', '--days', '3');
    const after = Date.now();
    // The seed waited for the stream consumer: its counters hold the run already.
    const totalOnReturn = await service.services.counters.total('seeded', { kind: 'all' });
    await service.settle();

    // Assess
    expect(stdout).toContain('Seeded 600 events for tenant seeded over 3 days');
    expect(stdout).toContain('bulk');
    expect(stdout).toContain('all counted');
    expect(totalOnReturn).toBe(600);
    const entries = await entriesOf('seeded');
    expect(entries).toHaveLength(600);
    const ids = entries.map((item) => item.id as number);
    expect(new Set(ids).size).toBe(600);
    for (const item of entries) {
      const timestamp = item.timestamp as number;
      expect(timestampOfId(item.id as number)).toBe(timestamp);
      expect(timestamp).toBeGreaterThan(before - 3 * DAY_MS);
      expect(timestamp).toBeLessThanOrEqual(after);
    }
    // The mix: 60 % canary console actions, the rest kore admin actions and api-key request records.
    const apiKey = entries.filter((item) => item.action_type === 'api_request');
    const kore = entries.filter((item) => KORE_ACTIONS.has(String(item.action_type)));
    const canary = entries.length - apiKey.length - kore.length;
    expect(canary).toBe(360);
    expect(kore.length).toBeGreaterThan(0);
    expect(apiKey.length).toBeGreaterThan(0);
    for (const item of apiKey) {
      expect(item.api_key).toMatchObject({ id: expect.stringMatching(/^tok_/) });
      expect(item.request).toMatchObject({ method: 'GET', status: expect.any(Number) });
    }
    for (const item of kore) expect(String(item.user)).toMatch(/@example\.com$/);
    // Counters, all shards added up, are exactly what counting the entries gives: counted once.
    expect(await countersOf('seeded')).toEqual(await countedCounters('seeded'));
    expect(await service.services.counters.total('seeded', { kind: 'all' })).toBe(600);
  }, 120_000);

  it('seeds a tenant that already has entries in the range through the event store, still exact', async () => {
    // Prepare: an entry of the tenant inside the coming run's range.
    await service.services.events.append('lived-in', [
      { action_type: 'user_login', user: 'ana@example.com', timestamp: Date.now() - 3_600_000 },
    ]);

    // Act
    const { stdout, stderr } = await seed('--tenant', 'lived-in', '--events', '300', '--days', '2');
    await service.settle();

    // Assess
    expect(stderr).toContain('already has entries');
    expect(stdout).toContain('event store');
    const entries = await entriesOf('lived-in');
    expect(entries).toHaveLength(301);
    expect(new Set(entries.map((item) => item.id)).size).toBe(301);
    expect(await countersOf('lived-in')).toEqual(await countedCounters('lived-in'));
    // The claim that kept other seeds of the tenant out is released.
    const again = await seed('--tenant', 'lived-in', '--events', '5', '--days', '1');
    await service.settle();
    expect(again.stdout).toContain('Seeded 5 events');
    expect(await service.services.counters.total('lived-in', { kind: 'all' })).toBe(306);
  }, 120_000);

  it('refuses to seed a tenant whose earlier seed was cut off; --repair releases it, and what the run stored is counted once', async () => {
    // Prepare: a bulk run that stored 150 entries and was killed before releasing the tenant.
    const tables = {
      eventsTable: service.services.config.EVENTS_TABLE,
      controlTable: service.services.config.CONTROL_TABLE,
    };
    const cutOff = new BulkSeeder(service.services.doc, tables, 'cut-off');
    const to = Date.now() - 60_000;
    expect(await cutOff.begin(to - DAY_MS + 1, to)).toBe(true);
    await cutOff.write(windowEvents({ index: 0, count: 150, span: DAY_MS, to }, 9));

    // Act
    const refused = (await seed('--tenant', 'cut-off', '--events', '10', '--days', '1').catch(
      (error: unknown) => error,
    )) as { code?: number; stderr?: string };
    await service.settle();
    const countedBeforeRepair = await countersOf('cut-off');
    const expectedBeforeRepair = await countedCounters('cut-off');
    const { stdout } = await seed('--tenant', 'cut-off', '--repair');
    const again = await seed('--tenant', 'cut-off', '--events', '10', '--days', '1');
    const nothingLeft = await seed('--tenant', 'cut-off', '--repair');
    await service.settle();

    // Assess
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/--repair/);
    // The refused run wrote nothing; the cut-off run's entries are counted by the consumer, once.
    expect(countedBeforeRepair).toEqual(expectedBeforeRepair);
    expect(countedBeforeRepair['count#cut-off#all|t#']).toBe(150);
    expect(stdout).toContain('Released tenant cut-off from a cut-off seed run; the 150 entries');
    expect(again.stdout).toContain('Seeded 10 events');
    expect(nothingLeft.stdout).toContain('nothing to repair');
    expect(await entriesOf('cut-off')).toHaveLength(160);
    expect(await countersOf('cut-off')).toEqual(await countedCounters('cut-off'));
    expect(await service.services.counters.total('cut-off', { kind: 'all' })).toBe(160);
  }, 120_000);

  it.each([
    ['a missing tenant', ['--events', '10', '--days', '1'], /required option '--tenant <tenant>'/],
    ['zero events', ['--tenant', 'refused', '--events', '0', '--days', '1'], /--events.*integer from 1/],
    ['negative events', ['--tenant', 'refused', '--events', '-5', '--days', '1'], /--events.*integer from 1/],
    ['non-numeric events', ['--tenant', 'refused', '--events', 'many', '--days', '1'], /--events.*integer/],
    ['non-numeric days', ['--tenant', 'refused', '--events', '10', '--days', 'x'], /--days.*integer/],
    [
      'a bad tenant name',
      ['--tenant', 'a#b', '--events', '10', '--days', '1'],
      /--tenant.*'a#b' is invalid\. a tenant name is 3 to 64 characters, each a letter, digit, "\.", "_" or "-"/,
    ],
    [
      'a tenant name too short',
      ['--tenant', 'x', '--events', '10', '--days', '1'],
      /--tenant.*'x' is invalid\. a tenant name is 3 to 64 characters/,
    ],
  ])(
    'refuses %s with a clear error, a non-zero exit and nothing written',
    async (_, args, message) => {
      // Act
      const failure = (await seed(...args).then(
        () => undefined,
        (error: unknown) => error,
      )) as { code?: number; stderr?: string } | undefined;

      // Assess
      expect(failure?.code).not.toBe(0);
      expect(failure?.code).toBeDefined();
      expect(failure?.stderr).toMatch(message);
      expect(await entriesOf('refused')).toHaveLength(0);
      expect(await countersOf('refused')).toEqual({});
    },
    60_000,
  );
});
