import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { Context } from 'aws-lambda';
import { DAY_MS } from '../../lambdas/domain/time.js';
import { handler as ingestQueue } from '../../lambdas/handlers/ingest-queue.js';
import { handler as retention } from '../../lambdas/handlers/purge-scheduler.js';
import { koreAppCommand } from '../../scripts/kore-apps.js';
import { tokensProgram } from '../../scripts/tokens.js';
import { startTestService, type TestService } from '../helpers/local-service.js';
import { allEntries, counterMismatches } from '../helpers/purge-fixtures.js';
import { busEvent, sqsRecord } from '../helpers/sqs-events.js';

const run = promisify(execFile);

const lambdaContext = (budgetMs: number): Context => {
  const deadline = Date.now() + budgetMs;
  return {
    functionName: 'test',
    awsRequestId: 'test',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  } as Context;
};

/**
 * Every way a tenant comes to exist registers it in the tenant registry, which is what the
 * retention scheduler reads: a tenant that is not registered keeps its entries forever.
 */
describe('Tenants are registered however they come to exist, so retention purges them', () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService();
  });
  afterAll(async () => service.stop());

  /** The environment docs/deploy.md's CreateFirstToken command runs with (plus the emulator endpoint). */
  const deploymentEnv = () => ({
    ...process.env,
    AWS_REGION: 'us-east-1',
    EVENTS_TABLE: service.services.config.EVENTS_TABLE,
    CONTROL_TABLE: service.services.config.CONTROL_TABLE,
    DYNAMODB_ENDPOINT: service.env.DYNAMODB_ENDPOINT,
    DYNAMODB_LOCAL_DATABASE: service.env.DYNAMODB_LOCAL_DATABASE,
  });

  const quietly = async <T>(act: () => Promise<T>): Promise<T> => {
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      return await act();
    } finally {
      spy.mockRestore();
    }
  };

  it('tokens CLI, first token of a deployment, kore-app CLI, seed and EventBridge all register; retention purges each', async () => {
    // Prepare: one tenant created each way.
    await quietly(() =>
      tokensProgram().parseAsync(['node', 'tokens', 'create', '--tenant', 'via-tokens', '--scopes', 'read']),
    );
    await run(
      process.execPath,
      [
        '--no-warnings',
        '--import',
        'tsx',
        'scripts/tokens.ts',
        'create',
        '--tenant',
        'via-first-token',
        '--scopes',
        'read,purge,download,ingest,admin',
      ],
      { env: deploymentEnv() },
    );
    await koreAppCommand({ print: () => undefined }).parseAsync(['create', '--tenant', 'via-kore-app'], {
      from: 'user',
    });
    await run(
      process.execPath,
      [
        '--no-warnings',
        '--import',
        'tsx',
        'scripts/seed.ts',
        '--tenant',
        'via-seed',
        '--events',
        '20',
        '--days',
        '2',
      ],
      { env: deploymentEnv() },
    );
    const longAgo = Date.now() - 400 * DAY_MS;
    const old = (n: number) =>
      Array.from({ length: n }, (_, k) => ({ action_type: 'user_login', timestamp: longAgo - k * 60_000 }));
    const bus = await ingestQueue({ Records: [sqsRecord(busEvent('via-eventbridge', old(5)))] });
    const tenants = ['via-tokens', 'via-first-token', 'via-kore-app', 'via-seed', 'via-eventbridge'];
    const registered = await service.services.tenants.list();
    // Entries older than the default retention (365 days) in every tenant but the bus one (already has).
    for (const tenant of tenants.filter((name) => name !== 'via-eventbridge'))
      await service.services.events.append(tenant, old(5));

    // Act
    const summary = await retention({}, lambdaContext(120_000));

    // Assess
    expect(bus.batchItemFailures).toEqual([]);
    expect(registered).toEqual(expect.arrayContaining(tenants));
    expect(summary.failed).toBe(0);
    for (const tenant of tenants) {
      const entries = await allEntries(service.services, tenant);
      expect({ tenant, old: entries.filter((entry) => entry.timestamp < longAgo + 1).length }).toEqual({
        tenant,
        old: 0,
      });
      expect(entries.map((entry) => entry.action_type)).toContain('audit_trail_purged');
      expect(await counterMismatches(service.services, tenant)).toEqual([]);
    }
    // The seeded entries (the last 2 days) are within retention and stay.
    expect(
      (await allEntries(service.services, 'via-seed')).filter((e) => e.action_type !== 'audit_trail_purged'),
    ).toHaveLength(20);
  }, 180_000);
});
