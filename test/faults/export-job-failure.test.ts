import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { InProcessJobLauncher } from '../../lambdas/adapters/in-process-job-launcher.js';
import { bulkWrite } from '../../local/bulk-write.js';
import { demoEvents } from '../../local/demo-data.js';
import {
  DOWNLOAD,
  exportedEntries,
  getWithToken as get,
  type JobBody,
  seedIncompressible,
} from '../helpers/downloads.js';
import { awsError, failMultipartPart, injectFault } from '../helpers/faults.js';
import { startTestService, type TestService } from '../helpers/local-service.js';

const NOW = Date.UTC(2026, 10, 1);

/**
 * Fault (d), job path: S3 fails while an export job's worker uploads the zip. Invariant: the
 * multipart upload is aborted and never completed, no object is left under the tenant's export
 * prefix, the job is marked failed with a message saying to download again, and that next
 * download starts a new job that exports every entry.
 */
describe('fault: S3 fails while an export job uploads', () => {
  let service: TestService;
  let launcher: InProcessJobLauncher;

  const jobStatus = (token: string, jobId: string) =>
    get(service, `/api/v1/audit_trail/download/jobs/${jobId}`, token);

  /** Starts a download (a job, as no request may export itself here) and waits for its worker. */
  const downloadJob = async (token: string) => {
    const started = await get(service, DOWNLOAD, token);
    await launcher.idle();
    expect(started.response.status).toBe(202);
    return (JSON.parse(started.text) as JobBody).job_id;
  };

  const exportedObjects = async (tenant: string) =>
    (
      await service.objects.s3.send(
        new ListObjectsV2Command({
          Bucket: service.services.config.EXPORTS_BUCKET,
          Prefix: `exports/${tenant}/`,
        }),
      )
    ).Contents ?? [];

  beforeAll(async () => {
    // No request may export anything itself: every download becomes a job.
    service = await startTestService({ config: { DOWNLOAD_REQUEST_BUDGET_MS: '0' } });
    const { jobs } = service;
    if (!(jobs instanceof InProcessJobLauncher)) throw new Error('expected the in-process job launcher');
    launcher = jobs;
  });
  afterAll(async () => {
    await launcher.idle();
    await service.stop();
  });

  it('aborts the upload, keeps no object and marks the job failed when a part fails; the next download exports every entry', async () => {
    // Prepare: ~7 MB of barely compressible entries, so the zip needs two 5 MiB parts.
    const { s3 } = service.objects;
    const tenant = 'bulky-job';
    const blobs = await seedIncompressible(service, tenant, 1500, NOW);
    const token = await service.token(tenant, ['download']);
    const trace = failMultipartPart(s3, 2);

    // Act
    let failedJob: string;
    try {
      failedJob = await downloadJob(token);
    } finally {
      trace.remove();
    }
    const status = await jobStatus(token, failedJob);
    const left = await exportedObjects(tenant);
    const retryJob = await downloadJob(token);
    const retried = await jobStatus(token, retryJob);

    // Assess
    expect(trace.partsSent).toBe(2);
    expect(trace.created).toHaveLength(1);
    expect(new Set(trace.aborted)).toEqual(new Set(trace.created));
    expect(trace.completed).toBe(0);
    expect(left).toEqual([]);
    expect(status.response.status).toBe(200);
    expect(JSON.parse(status.text)).toEqual({
      result: 'success',
      status: 'failed',
      job_id: failedJob,
      message: 'The export could not be completed; download again to retry',
    });
    expect(retryJob).not.toBe(failedJob);
    expect(retried.response.status).toBe(303);
    const objects = await exportedObjects(tenant);
    expect(objects.map((object) => object.Key)).toEqual([
      `exports/${tenant}/${retryJob}/canary_audit_trail.json.zip`,
    ]);
    const { zip, document } = await exportedEntries(retried.response.headers.get('location') ?? '');
    expect(zip.testOk).toBe(true);
    const exported = document.audit_trail;
    expect(
      exported
        .filter((entry) => entry.action_type === 'blob_stored')
        .map((entry) => entry.additional_information?.blob),
    ).toEqual(blobs);
  }, 120_000);

  it('marks a job failed when S3 fails, and the next download starts a new job', async () => {
    // Prepare: fail every PutObject (a small zip is stored in one put) while the worker runs.
    const token = await service.token('hooli', ['download']);
    await bulkWrite(
      service.services.doc,
      { eventsTable: service.services.config.EVENTS_TABLE },
      'hooli',
      demoEvents({ count: 200, days: 1, now: NOW, seed: 5 }),
    );
    await service.settle();
    const removeFault = injectFault(
      service.objects.s3,
      'failPuts',
      (commandName) => (commandName === PutObjectCommand.name ? 'before' : undefined),
      () => awsError('ServiceUnavailable', 'Service Unavailable', 'server'),
    );

    // Act
    let jobId: string;
    try {
      jobId = await downloadJob(token);
    } finally {
      removeFault();
    }
    const status = await jobStatus(token, jobId);
    const left = await exportedObjects('hooli');
    const again = await get(service, DOWNLOAD, token);
    await launcher.idle();

    // Assess
    expect(status.response.status).toBe(200);
    expect(JSON.parse(status.text)).toMatchObject({ result: 'success', status: 'failed', job_id: jobId });
    expect(left).toEqual([]);
    expect(again.response.status).toBe(202);
    expect((JSON.parse(again.text) as JobBody).job_id).not.toBe(jobId);
    expect((await service.services.exportJobs.latest('hooli'))?.status).toBe('completed');
  });
});
