import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createDynamoDbDocumentClient, createS3Client } from '../../lambdas/adapters/aws-clients.js';
import { DynamoDbEntryDeletion } from '../../lambdas/adapters/dynamodb-entry-deletion.js';
import { DynamoDbPurgeJobStore } from '../../lambdas/adapters/dynamodb-purge-job-store.js';
import { S3ArchiveStore } from '../../lambdas/adapters/s3-archive-store.js';
import { purgeDependencies } from '../../lambdas/composition/purge.js';
import { PURGE_ACTION } from '../../lambdas/domain/purge.js';
import { type PurgeDependencies, runPurge, startPurge } from '../../lambdas/use-cases/purge-entries.js';
import { demoEvents } from '../../local/demo-data.js';
import { awsError, injectFault, rollupMismatches } from '../helpers/faults.js';
import { startTestService, type TestConfig, type TestService } from '../helpers/local-service.js';
import {
  allEntries,
  archivedLines,
  counterMismatches,
  form,
  linesOf,
  seed,
  since,
} from '../helpers/purge-fixtures.js';

const PURGE = '/api/v1/audit_trail/purge';
const NOW = Date.UTC(2026, 10, 1);

/** This file's service settings (see startTestService). */
const CONFIG: TestConfig = {
  // Small parts: 160 entries make 3 segments, 8 BatchWriteItem calls and 6 counter chunks (the crash cases count on these).
  PURGE_PART_ENTRIES: '60',
  // Purges here finish within the request (the 202 path is in test/integration/purge-jobs.test.ts).
  PURGE_REQUEST_BUDGET_MS: '25000',
};

/**
 * Fault (e): the purge process dies mid-purge. Invariant: the resumed purge finishes; every entry
 * up to the purge id is gone and no other; every rollup counter is exact (nothing decremented
 * twice); the job counts each entry once; the archive holds each purged entry exactly once.
 */
describe('fault: a crash mid-purge', () => {
  let service: TestService;
  /** Clients made to crash, closed at the end so no socket outlives the tests. */
  const clients: { destroy(): void }[] = [];

  beforeAll(async () => {
    service = await startTestService({ config: CONFIG });
  });
  afterAll(async () => {
    for (const client of clients) client.destroy();
    await service.stop();
  });

  /**
   * Seeds 200 entries, crashes a purge through the 160th with `crashing` dependencies, then resumes
   * it through the API and checks every invariant.
   */
  const crashThenResume = async (
    tenant: string,
    crashing: (deps: PurgeDependencies) => PurgeDependencies,
  ) => {
    // Prepare
    const token = await service.token(tenant, ['purge', 'download']);
    await seed(service.services, tenant, demoEvents({ count: 200, days: 3, now: NOW, seed: 11 }));
    const before = await allEntries(service.services, tenant);
    const through = before[159]?.id ?? -1;
    const deps = crashing(purgeDependencies(service.services.config));
    const started = await startPurge(deps, {
      tenant,
      throughId: through,
      requester: { kind: 'token', tokenId: 'tok_test', tokenName: 'test' },
    });
    if (started.kind === 'busy') throw new Error('another purge is running');
    await expect(runPurge(deps, tenant, started.job.jobId, Date.now() + 60_000)).rejects.toThrow(
      'injected crash',
    );
    const crashed = await service.services.purges.get(tenant, started.job.jobId);
    expect(crashed?.status).toBe('running');
    expect(crashed?.deleted).toBeLessThan(160);

    // Act
    const response = await service.request('POST', PURGE, form({ auth_token: token, id: String(through) }));

    // Assess
    expect(response.status).toBe(200);
    expect((response.body as { deleted: number }).deleted).toBe(160 - (crashed?.deleted ?? 0));
    const after = await allEntries(service.services, tenant);
    expect(after.filter((entry) => entry.id <= through)).toEqual([]);
    expect(since(before, after)).toEqual({
      kept: before.slice(160),
      added: [PURGE_ACTION, `POST ${PURGE} 200`].sort(),
    });
    const archived = await archivedLines(service, token);
    expect(archived).toEqual(linesOf(before.slice(0, 160)));
    expect(new Set(archived).size).toBe(160);
    expect(await counterMismatches(service.services, tenant)).toEqual([]);
    expect(await rollupMismatches(service.services, tenant)).toEqual([]);
    const job = await service.services.purges.get(tenant, started.job.jobId);
    expect(job).toMatchObject({ status: 'completed', deleted: 160, checkpoint: through });
  };

  describe('after a crash at any step of a segment, a resumed purge', () => {
    // Each case crashes at the k-th (0-based) call of one step, before it is sent or after it was
    // applied but before its answer arrives (the worst case: the store moved on, the runner did not).
    it.each([
      ['an intent is recorded', 'TransactWriteItemsCommand', 'intent#', 1, 'after'],
      ['a chunk of counter decrements lands', 'TransactWriteItemsCommand', 'ADD #n', 4, 'after'],
      ['a chunk of counter decrements is sent', 'TransactWriteItemsCommand', 'ADD #n', 3, 'before'],
      ['entries are deleted', 'BatchWriteItemCommand', 'DeleteRequest', 6, 'before'],
      ['entries were deleted', 'BatchWriteItemCommand', 'DeleteRequest', 7, 'after'],
      ['the checkpoint moves', 'UpdateItemCommand', 'REMOVE pending', 1, 'after'],
    ] as const)('is exact when the crash comes when %s', async (name, command, marker, k, when) => {
      const tenant = `crash-${name.replace(/\W+/g, '-')}-${when}`.slice(0, 60);
      const crashing = createDynamoDbDocumentClient({
        region: 'us-east-1',
        dynamoDbEndpoint: service.env.DYNAMODB_ENDPOINT ?? '',
        ...(service.env.DYNAMODB_LOCAL_DATABASE
          ? { dynamoDbDatabase: service.env.DYNAMODB_LOCAL_DATABASE }
          : {}),
      });
      clients.push(crashing);
      let calls = 0;
      injectFault(
        crashing,
        'crashAtStep',
        (commandName, input) => {
          if (commandName !== command || !JSON.stringify(input).includes(marker)) return undefined;
          return calls++ === k ? when : undefined;
        },
        () => new Error('injected crash'),
      );
      const { config } = service.services;
      await crashThenResume(tenant, (deps) => ({
        ...deps,
        purges: new DynamoDbPurgeJobStore(crashing, { controlTable: config.CONTROL_TABLE }),
        deletion: new DynamoDbEntryDeletion(crashing, {
          eventsTable: config.EVENTS_TABLE,
          controlTable: config.CONTROL_TABLE,
        }),
      }));
    });
  });

  it.each([
    ['an archive part is stored but the manifest does not list it yet', 'manifest.json', 1],
    ['the second archive part cannot be stored', '.jsonl.gz', 1],
  ] as const)(
    'writes each entry to the archive once when the crash comes when %s',
    async (name, suffix, k) => {
      const tenant = `crash-archive-${name.replace(/\W+/g, '-')}`.slice(0, 60);
      const crashingS3 = createS3Client({
        region: 'us-east-1',
        s3Endpoint: process.env.TEST_S3_ENDPOINT ?? '',
      });
      let puts = 0;
      injectFault(
        crashingS3,
        'crashAtArchive',
        (commandName, input) => {
          if (commandName !== PutObjectCommand.name || !String(input.Key).endsWith(suffix)) return undefined;
          return puts++ === k ? 'before' : undefined;
        },
        () => awsError('InternalError', 'injected crash', 'server'),
      );
      await crashThenResume(tenant, (deps) => ({
        ...deps,
        archives: new S3ArchiveStore(crashingS3, { bucket: service.services.config.ARCHIVE_BUCKET ?? '' }),
      }));
    },
  );
});
