import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DynamoDbEntryDeletion } from '../../lambdas/adapters/dynamodb-entry-deletion.js';
import { purgeDependencies } from '../../lambdas/composition/purge.js';
import { TooManyRequestsError } from '../../lambdas/domain/errors.js';
import { PURGE_ACTION } from '../../lambdas/domain/purge.js';
import { runPurge, startPurge } from '../../lambdas/use-cases/purge-entries.js';
import { bulkWrite } from '../../local/bulk-write.js';
import { demoEvents } from '../../local/demo-data.js';
import { partialBatchWrites, rollupMismatches, storedItems, type WriteRequests } from '../helpers/faults.js';
import { startTestService, type TestConfig, type TestService } from '../helpers/local-service.js';
import { allEntries, archivedLines, form, linesOf, seed, since } from '../helpers/purge-fixtures.js';

const PURGE = '/api/v1/audit_trail/purge';
const NOW = Date.UTC(2026, 10, 1);

/** This file's service settings (see startTestService). */
const CONFIG: TestConfig = {
  // Several parts, each of several BatchWriteItem calls.
  PURGE_PART_ENTRIES: '100',
  PURGE_REQUEST_BUDGET_MS: '25000',
};

/**
 * Fault (b): BatchWriteItem answers part of its requests as `UnprocessedItems` (what DynamoDB does
 * when a partition is throttled). Everywhere BatchWriteItem is used (purge deletes, bulk seeding),
 * the invariant is: every item is eventually deleted or written, exactly once in effect, and every
 * rollup counter equals what the stored entries imply.
 */
describe('fault: BatchWriteItem leaves UnprocessedItems', () => {
  let service: TestService;
  let unprocessed = 0;
  let removeFault: () => void = () => undefined;
  /** How many requests of each BatchWriteItem call DynamoDB Local gets to apply (the rest come back). */
  let admit: (requests: WriteRequests) => number = (requests) => requests.length;

  beforeAll(async () => {
    service = await startTestService({ config: CONFIG });
    // The real emulator applies the admitted requests; the others come back as UnprocessedItems.
    removeFault = partialBatchWrites(
      service.services.doc,
      (requests) => admit(requests),
      (held) => {
        unprocessed += held;
      },
    );
  });
  afterAll(async () => {
    removeFault();
    await service.stop();
  });

  it('purge: deletes every entry once, archives each once and keeps counters exact when each BatchWriteItem applies only some deletes', async () => {
    // Prepare
    const tenant = 'unprocessed-purge';
    const token = await service.token(tenant, ['purge', 'download']);
    await seed(service.services, tenant, demoEvents({ count: 300, days: 3, now: NOW, seed: 21 }));
    const before = await allEntries(service.services, tenant);
    const through = before[249]?.id ?? -1;
    unprocessed = 0;
    // About half of a call's deletes are applied, half of the rest on the first retry, all on the second.
    admit = (requests) => (requests.length > 8 ? Math.ceil(requests.length / 2) : requests.length);

    // Act
    let response: Awaited<ReturnType<typeof service.request>>;
    try {
      response = await service.request('POST', PURGE, form({ auth_token: token, id: String(through) }));
    } finally {
      admit = (requests) => requests.length;
    }

    // Assess
    expect(unprocessed).toBeGreaterThan(125);
    expect(response.status).toBe(200);
    expect((response.body as { deleted: number }).deleted).toBe(250);
    const after = await allEntries(service.services, tenant);
    expect(since(before, after)).toEqual({
      kept: before.slice(250),
      added: [PURGE_ACTION, `POST ${PURGE} 200`].sort(),
    });
    expect(await archivedLines(service, token)).toEqual(linesOf(before.slice(0, 250)));
    // The purge's own record (and the token's) are counted by the stream consumer: once caught up.
    await service.settle();
    expect(await rollupMismatches(service.services, tenant)).toEqual([]);
  });

  it('purge: stops with "will resume" when deletes stay unprocessed past the retry budget, and the resumed purge is exact', async () => {
    // Prepare: deletes with a short retry budget, and a table that takes no deletes at all.
    const tenant = 'unprocessed-stuck';
    const token = await service.token(tenant, ['purge', 'download']);
    await seed(service.services, tenant, demoEvents({ count: 200, days: 3, now: NOW, seed: 22 }));
    const before = await allEntries(service.services, tenant);
    const through = before[149]?.id ?? -1;
    const { doc, config } = service.services;
    const deps = {
      ...purgeDependencies(service.services.config),
      deletion: new DynamoDbEntryDeletion(doc, {
        eventsTable: config.EVENTS_TABLE,
        controlTable: config.CONTROL_TABLE,
        backoff: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
      }),
    };
    const started = await startPurge(deps, {
      tenant,
      throughId: through,
      requester: { kind: 'token', tokenId: 'tok_test', tokenName: 'test' },
    });
    if (started.kind === 'busy') throw new Error('another purge is running');
    admit = () => 0;

    // Act
    let stuck: unknown;
    try {
      await runPurge(deps, tenant, started.job.jobId, Date.now() + 60_000).catch((error: unknown) => {
        stuck = error;
      });
    } finally {
      admit = (requests) => requests.length;
    }
    const paused = await service.services.purges.get(tenant, started.job.jobId);
    const entriesWhileStuck = (await allEntries(service.services, tenant)).length;
    const countersWhileStuck = await service.services.counters.total(tenant, { kind: 'all' });
    const response = await service.request('POST', PURGE, form({ auth_token: token, id: String(through) }));

    // Assess
    expect(stuck).toBeInstanceOf(TooManyRequestsError);
    expect((stuck as Error).message).toContain('the purge will resume where it stopped');
    expect(paused).toMatchObject({ status: 'running', deleted: 0 });
    expect(entriesWhileStuck).toBe(200);
    // The first segment's counter decrements landed (exactly once) while its deletes could not:
    // the counters run ahead of the entries until the resumed segment deletes them.
    expect(countersWhileStuck).toBe(100);
    expect(response.status).toBe(200);
    expect((response.body as { deleted: number }).deleted).toBe(150);
    const after = await allEntries(service.services, tenant);
    expect(since(before, after)).toEqual({
      kept: before.slice(150),
      added: [PURGE_ACTION, `POST ${PURGE} 200`].sort(),
    });
    expect(await archivedLines(service, token)).toEqual(linesOf(before.slice(0, 150)));
    // The purge's own record (and the token's) are counted by the stream consumer: once caught up.
    await service.settle();
    expect(await rollupMismatches(service.services, tenant)).toEqual([]);
    expect(await service.services.purges.get(tenant, started.job.jobId)).toMatchObject({
      status: 'completed',
      deleted: 150,
    });
  });

  it('bulk seeding: writes every entry once with exact counters when each BatchWriteItem applies only some puts', async () => {
    // Prepare
    const tenant = 'unprocessed-seed';
    const { doc, config } = service.services;
    unprocessed = 0;
    let calls = 0;
    // Alternate: half the puts, then none, then all.
    admit = (requests) =>
      [Math.floor(requests.length / 2), 0, requests.length][calls++ % 3] ?? requests.length;

    // Act
    let records: Awaited<ReturnType<typeof bulkWrite>>;
    try {
      records = await bulkWrite(
        doc,
        { eventsTable: config.EVENTS_TABLE },
        tenant,
        demoEvents({ count: 200, days: 1, now: NOW, seed: 23 }),
      );
    } finally {
      admit = (requests) => requests.length;
    }
    // The counters are the stream consumer's: exact once it has caught up.
    await service.settle();

    // Assess
    expect(unprocessed).toBeGreaterThan(100);
    const stored = await storedItems(service.services, tenant);
    expect(stored.map((item) => item.id).sort()).toEqual(records.map((record) => record.id).sort());
    expect(new Set(stored.map((item) => item.id)).size).toBe(200);
    expect(await rollupMismatches(service.services, tenant)).toEqual([]);
  });
});
