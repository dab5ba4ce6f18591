import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { exportPlanStore } from '../../lambdas/composition/dynamodb.js';
import { TLOG_PROOF_FILE } from '../../lambdas/domain/tlog/proof-file.js';
import { bulkWrite } from '../../local/bulk-write.js';
import { demoEvents } from '../../local/demo-data.js';
import { awsError, injectFault } from '../helpers/faults.js';
import { startTestService, type TestService } from '../helpers/local-service.js';
import { captureLogs } from '../helpers/logs.js';
import {
  EXPORT_JSON_NAME,
  runExportJobLocally,
  singleWorkerZip,
  storedZip,
} from '../helpers/parallel-export.js';
import { readWithAll } from '../helpers/zip-readers.js';

const NOW = Date.UTC(2026, 10, 1);

/**
 * Faults in parallel export jobs (docs/faults.md). The job runs through the local state machine:
 * the same handlers and retry policy as the AWS one (3 retries per chunk). Invariants: a chunk that
 * fails and is retried — killed mid-chunk, its part upload failing, its part stored but the answer
 * lost, twice — changes nothing: the zip is valid for unzip, Python's zipfile and yauzl, and its
 * document is exactly the single-worker export's; its progress counts each chunk once. A chunk
 * failing for good fails the job and aborts its multipart upload: no object, never completed.
 */
describe('fault: parallel export chunks fail', () => {
  let service: TestService;

  const seed = async (tenant: string, seedNumber: number) => {
    const { doc, config } = service.services;
    await bulkWrite(
      doc,
      { eventsTable: config.EVENTS_TABLE },
      tenant,
      demoEvents({ count: 2000, days: 4, now: NOW, seed: seedNumber }),
    );
    // Exports plan their chunks from the rollup counters, which the stream consumer derives.
    await service.settle();
  };

  /** Runs the tenant's export with `fault` on, and checks the zip against the single-worker export. */
  const exportThrough = async (tenant: string, fault: () => () => void) => {
    const reference = await singleWorkerZip(service, tenant);
    const expected = (await readWithAll(reference, EXPORT_JSON_NAME)).python.files[EXPORT_JSON_NAME];
    const remove = fault();
    try {
      const job = await runExportJobLocally(service, tenant);
      return { job, expected };
    } finally {
      remove();
    }
  };

  const expectIntact = async (job: Awaited<ReturnType<typeof runExportJobLocally>>, expected?: string) => {
    expect(job.status).toBe('completed');
    expect(job.progress?.chunksDone).toBe(job.progress?.chunks);
    expect(job.progress?.chunks).toBeGreaterThanOrEqual(3);
    const readings = await readWithAll(await storedZip(service, job), EXPORT_JSON_NAME);
    expect(expected).toBeDefined();
    for (const reading of Object.values(readings)) {
      expect(reading.ok).toBe(true);
      // The verifiable log's proof file follows the document (the document is unchanged).
      expect(reading.names).toEqual([EXPORT_JSON_NAME, TLOG_PROOF_FILE]);
      expect(reading.files[EXPORT_JSON_NAME]).toBe(expected);
    }
  };

  /** UploadPart calls by part number. */
  const partsSent = new Map<number, number>();
  const partNumberOf = (input: Record<string, unknown>) => Number(input.PartNumber);

  beforeAll(async () => {
    service = await startTestService({
      config: {
        EXPORT_MIN_PART_BYTES: '16384',
        EXPORT_CHUNK_MAX_ENTRIES: '600',
        EXPORT_CONCURRENCY: '3',
        EXPORT_RETRY_INTERVAL_MS: '10',
      },
    });
    await Promise.all(
      ['killed', 'part-fails', 'twice', 'for-good'].map((tenant, index) => seed(tenant, index + 20)),
    );
    // Seeding thousands of entries takes long on a loaded machine; the tests themselves do not.
  }, 180_000);
  afterAll(async () => {
    await service.jobs.idle();
    await service.stop();
  });

  it('survives a worker killed mid-chunk: the retry starts the chunk over', async () => {
    // Prepare: the fourth page read of any chunk (each reads ~3 pages of 250) dies, once.
    let pageReads = 0;

    // Act
    const { job, expected } = await exportThrough('killed', () =>
      injectFault(
        service.services.doc,
        'killMidChunk',
        (commandName, input) => {
          if (commandName !== 'QueryCommand' || input.Limit !== 250) return undefined;
          pageReads += 1;
          return pageReads === 4 ? 'before' : undefined;
        },
        () => awsError('WorkerKilled', 'the worker died mid-chunk', 'server'),
      ),
    );

    // Assess
    expect(pageReads).toBeGreaterThan(4);
    await expectIntact(job, expected);
  });

  it('survives a part upload failing: the retried chunk stores its part', async () => {
    // Prepare
    partsSent.clear();

    // Act
    const { job, expected } = await exportThrough('part-fails', () =>
      injectFault(
        service.objects.s3,
        'failPart2',
        (commandName, input) => {
          if (commandName !== 'UploadPartCommand') return undefined;
          const part = partNumberOf(input);
          partsSent.set(part, (partsSent.get(part) ?? 0) + 1);
          return part === 2 && partsSent.get(part) === 1 ? 'before' : undefined;
        },
        () => awsError('InternalError', 'We encountered an internal error. Please try again.', 'server'),
      ),
    );

    // Assess
    expect(partsSent.get(2)).toBe(2);
    await expectIntact(job, expected);
  });

  it('survives a chunk retried twice after its part was stored but the answer lost: the part is rewritten', async () => {
    // Prepare
    partsSent.clear();

    // Act
    const { job, expected } = await exportThrough('twice', () =>
      injectFault(
        service.objects.s3,
        'losePart3Answer',
        (commandName, input) => {
          if (commandName !== 'UploadPartCommand') return undefined;
          const part = partNumberOf(input);
          partsSent.set(part, (partsSent.get(part) ?? 0) + 1);
          return part === 3 && (partsSent.get(part) ?? 0) <= 2 ? 'after' : undefined;
        },
        () => awsError('RequestTimeout', 'the answer was lost', 'server'),
      ),
    );

    // Assess
    expect(partsSent.get(3)).toBe(3);
    await expectIntact(job, expected);
  });

  it('fails the job and aborts its multipart upload when a chunk fails for good', async () => {
    // Prepare
    const tenant = 'for-good';
    const token = await service.token(tenant, ['download']);
    const aborted: string[] = [];
    let completed = 0;
    partsSent.clear();
    const removeTrace = injectFault(
      service.objects.s3,
      'traceMultipart',
      (commandName, input) => {
        if (commandName === 'AbortMultipartUploadCommand') aborted.push(String(input.UploadId));
        if (commandName === 'CompleteMultipartUploadCommand') completed += 1;
        if (commandName === 'UploadPartCommand') {
          const part = partNumberOf(input);
          partsSent.set(part, (partsSent.get(part) ?? 0) + 1);
          if (part === 2) return 'before';
        }
        return undefined;
      },
      () => awsError('InternalError', 'We encountered an internal error. Please try again.', 'server'),
    );

    // Act
    let job: Awaited<ReturnType<typeof runExportJobLocally>>;
    const logs = captureLogs();
    try {
      job = await runExportJobLocally(service, tenant);
      await service.jobs.idle();
    } finally {
      removeTrace();
      logs.restore();
    }
    const plan = await exportPlanStore(service.services.config).plan(tenant, job.jobId);
    const created = plan?.mode === 'parallel' ? [plan.uploadId] : [];
    const status = await service.get(`/api/v1/audit_trail/download/jobs/${job.jobId}`, { auth_token: token });
    const left = await service.objects.s3.send(
      new ListObjectsV2Command({
        Bucket: service.services.config.EXPORTS_BUCKET,
        Prefix: `exports/${tenant}/`,
      }),
    );

    // Assess: the first attempt and 3 retries, then the job failed and its upload was aborted;
    // the one error line says so, naming the job and the error's kind only.
    expect(logs.entries().filter((entry) => entry.level === 'error')).toEqual([
      expect.objectContaining({
        message: 'background job failed',
        kind: 'export',
        jobId: job.jobId,
        error: 'InternalError',
      }),
    ]);
    expect(partsSent.get(2)).toBe(4);
    expect(job.status).toBe('failed');
    expect(created).toHaveLength(1);
    expect(aborted).toEqual(created);
    expect(completed).toBe(0);
    expect(left.Contents ?? []).toEqual([]);
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({
      status: 'failed',
      message: 'The export could not be completed; download again to retry',
    });
  });
});
