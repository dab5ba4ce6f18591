import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { QueryCommand, ScanCommand, type ScanCommandOutput } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { timestampOfId } from '../../lambdas/domain/ids.js';
import type { AuditRecord } from '../../lambdas/domain/record.js';
import { counterDeltas } from '../../lambdas/domain/rollups.js';
import { DAY_MS } from '../../lambdas/domain/time.js';
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
        DYNAMODB_ENDPOINT: process.env.TEST_DYNAMODB_ENDPOINT,
        AWS_REGION: 'us-east-1',
      },
    });

  const entriesOf = async (tenant: string): Promise<Record<string, unknown>[]> => {
    const items: Record<string, unknown>[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const output = await service.services.doc.send(
        new QueryCommand({
          TableName: service.services.config.EVENTS_TABLE,
          KeyConditionExpression: 'tenant = :t',
          ExpressionAttributeValues: { ':t': tenant },
          ExclusiveStartKey: startKey,
          ConsistentRead: true,
        }),
      );
      items.push(...(output.Items ?? []));
      startKey = output.LastEvaluatedKey;
    } while (startKey);
    return items;
  };

  /** Every counter of `tenant`, shards added up, keyed like counterDeltas' keys without the shard. */
  const countersOf = async (tenant: string): Promise<Record<string, number>> => {
    const counters: Record<string, number> = {};
    let startKey: Record<string, unknown> | undefined;
    do {
      const output: ScanCommandOutput = await service.services.doc.send(
        new ScanCommand({
          TableName: service.services.config.CONTROL_TABLE,
          ExclusiveStartKey: startKey,
          ConsistentRead: true,
        }),
      );
      for (const item of output.Items ?? []) {
        if (!String(item.pk).startsWith(`count#${tenant}#`)) continue;
        const id = `${String(item.pk)}|${String(item.sk).replace(/\d+$/, '')}`;
        counters[id] = (counters[id] ?? 0) + Number(item.n);
      }
      startKey = output.LastEvaluatedKey;
    } while (startKey);
    return counters;
  };

  it('writes exactly N mixed events within D days, with unique ids and exact rollup counters', async () => {
    // Prepare
    const before = Date.now();

    // Act
    const { stdout } = await seed('--tenant', 'seeded', '--events', '600', '--days', '3');
    const after = Date.now();

    // Assess
    expect(stdout).toContain('Seeded 600 events for tenant seeded over 3 days');
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
    // Counters, all shards added up, are exactly what counting the entries gives.
    const expected: Record<string, number> = {};
    for (const { key, delta } of counterDeltas(entries as unknown as AuditRecord[], 1, 0).values())
      expected[`${key.pk}|${key.sk.replace(/\d+$/, '')}`] = delta;
    expect(await countersOf('seeded')).toEqual(expected);
    expect(await service.services.counters.total('seeded', { kind: 'all' })).toBe(600);
  }, 120_000);

  it.each([
    ['a missing tenant', ['--events', '10', '--days', '1'], /required option '--tenant <tenant>'/],
    ['zero events', ['--tenant', 'refused', '--events', '0', '--days', '1'], /--events.*integer from 1/],
    ['negative events', ['--tenant', 'refused', '--events', '-5', '--days', '1'], /--events.*integer from 1/],
    ['non-numeric events', ['--tenant', 'refused', '--events', 'many', '--days', '1'], /--events.*integer/],
    ['non-numeric days', ['--tenant', 'refused', '--events', '10', '--days', 'x'], /--days.*integer/],
    ['a bad tenant name', ['--tenant', 'a#b', '--events', '10', '--days', '1'], /--tenant.*3-64/],
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
