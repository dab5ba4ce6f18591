import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { tlogStore } from '../../lambdas/composition/tlog.js';
import { startDerivationWorker } from '../../local/derivation.js';
import { startTestService, type TestService } from '../helpers/local-service.js';

/**
 * The stack's stream consumer in a worker thread (`npm start`, `npm run load`): the same
 * derivation as on the main thread, with `settle()`, stats and `stop()` answered across threads.
 */
describe('the stream consumer in a worker thread', () => {
  let service: TestService;

  beforeAll(async () => {
    service = await startTestService({ derivationThread: 'worker' });
  });

  afterAll(async () => {
    await service.stop();
  });

  it('counts and sequences what the API stored once settle() resolves, and its stats say so', async () => {
    // Prepare
    const tenant = 'worker-derived';
    const token = await service.token(tenant, ['ingest', 'read']);
    const handledBefore = service.derivation.stats.handled;

    // Act: 3 requests of 10 events, each with its self-audit record.
    for (let request = 0; request < 3; request += 1) {
      const response = await service.request('POST', '/api/v1/audit_trail/events', {
        headers: { 'x-api-key': token, 'content-type': 'application/json' },
        body: JSON.stringify({
          events: Array.from({ length: 10 }, (_, n) => ({ action_type: `worker.${n % 2}`, message: `${n}` })),
        }),
      });
      expect(response.status).toBe(201);
    }
    await service.settle();

    // Assess: the counters and the tenant's log hold every entry, the checkpoint covers the log.
    const { counters, config } = service.services;
    expect(await counters.total(tenant, { kind: 'action', action: 'worker.0' })).toBe(15);
    expect(await counters.total(tenant, { kind: 'action', action: 'worker.1' })).toBe(15);
    const all = await counters.total(tenant, { kind: 'all' });
    expect(all).toBeGreaterThanOrEqual(30);
    const tlog = tlogStore(config);
    const head = await tlog.head(tenant);
    expect(head?.size).toBe(all);
    expect((await tlog.latestCheckpoint(tenant))?.size).toBe(all);
    expect(service.derivation.stats.handled - handledBefore).toBeGreaterThanOrEqual(all);
    expect(service.derivation.stats.failures).toBe(0);
  });

  it('rejects at start when the worker cannot consume the stream, naming why', async () => {
    // Act: a worker pointed at an events table that does not exist.
    const started = startDerivationWorker(
      {
        dynamoDbEndpoint: process.env.TEST_DYNAMODB_ENDPOINT as string,
        s3Endpoint: process.env.TEST_S3_ENDPOINT as string,
      },
      {
        eventsTable: 'no-such-events-table',
        controlTable: 'no-such-control-table',
        exportsBucket: 'no-such-exports',
        archiveBucket: 'no-such-archive',
      },
      service.env,
    );

    // Assess
    await expect(started).rejects.toThrow(/non-existent table|not found|no-such-events-table/i);
  });
});
