import { describe, expect, it } from '@jest/globals';
import {
  DOWNLOAD_ACTION,
  EXPORT_JSON_NAME,
  type ExportJob,
  exportObjectKey,
  JOB_ABANDONED_AFTER_MS,
  newExportId,
} from '../../../lambdas/domain/export.js';
import type { ExportObjectStore } from '../../../lambdas/ports/export-store.js';
import {
  type DownloadDependencies,
  downloadAuditTrail,
  exportJobStatus,
  runExportJob,
} from '../../../lambdas/use-cases/download-audit-trail.js';
import {
  InMemoryExportJobStore,
  InMemoryExportObjectStore,
  RecordingJobLauncher,
} from '../../fakes/in-memory-export-stores.js';
import { readWithYauzl } from '../../helpers/zip-readers.js';
import { logins, testClock, trailOf } from './trail.js';

const TENANT = 'acme';
const WHO = { tenant: TENANT, tokenId: 'tok_00000000000000d1', tokenName: 'Downloader' };

const setup = async (entries = 5, overrides: Partial<DownloadDependencies> = {}) => {
  const trail = await trailOf(TENANT, logins(entries));
  const time = testClock();
  const deps: DownloadDependencies = {
    events: trail.events,
    counters: trail.counters,
    objects: new InMemoryExportObjectStore(),
    jobs: new InMemoryExportJobStore(),
    launcher: new RecordingJobLauncher(),
    clock: time.clock,
    inlineMaxBytes: 1_000_000,
    urlTtlSeconds: 300,
    reuseSeconds: 600,
    ...overrides,
  };
  const download = (budgetMs = 30_000) => downloadAuditTrail(deps, { ...WHO, budgetMs });
  const downloads = () => trail.events.all(TENANT).filter((record) => record.action_type === DOWNLOAD_ACTION);
  return { ...trail, ...time, deps, download, downloads };
};

/** The canary entries' messages in a zip's document, in document order. */
const messagesIn = async (zip: Buffer): Promise<string[]> => {
  const reading = await readWithYauzl(zip);
  const document = JSON.parse(reading.files[EXPORT_JSON_NAME] as string) as {
    audit_trail: { message: string }[];
  };
  return document.audit_trail.map((entry) => entry.message);
};

const runningJob = (createdAt: number, objectKey?: string): ExportJob => ({
  tenant: TENANT,
  jobId: newExportId(createdAt),
  status: 'running',
  createdAt,
  updatedAt: createdAt,
  ...(objectKey !== undefined ? { objectKey } : {}),
});

describe('downloadAuditTrail', () => {
  it('answers a small trail inline: every entry, newest first, and records the download after its snapshot', async () => {
    // Prepare
    const { download, downloads } = await setup(3);

    // Act
    const outcome = await download();

    // Assess
    expect(outcome).toMatchObject({ kind: 'inline', entries: 3 });
    const zip = outcome.kind === 'inline' ? outcome.zip : Buffer.alloc(0);
    expect(await messagesIn(zip)).toEqual(['login 2', 'login 1', 'login 0']);
    expect(downloads()).toHaveLength(1);
    expect(downloads()[0]).toMatchObject({
      api_key: { id: WHO.tokenId, name: WHO.tokenName },
      additional_information: { entries: 3, mode: 'inline' },
    });
  });

  it('stores a zip over the inline limit and redirects to a presigned URL of it', async () => {
    // Prepare
    const { download, downloads, deps } = await setup(40, { inlineMaxBytes: 200 });
    const objects = deps.objects as InMemoryExportObjectStore;

    // Act
    const outcome = await download();

    // Assess
    expect(outcome).toMatchObject({ kind: 'redirect', entries: 40, mode: 's3' });
    const [key] = [...objects.objects.keys()];
    expect(key).toMatch(new RegExp(`^exports/${TENANT}/exp_`));
    expect(outcome.kind === 'redirect' ? outcome.url : '').toContain('expires=300');
    expect(await messagesIn(objects.objects.get(key as string) as Buffer)).toHaveLength(40);
    expect(downloads()[0]).toMatchObject({ additional_information: { entries: 40, mode: 's3' } });
  });

  it('hands an export that does not fit the request budget to one job, and later requests wait for it', async () => {
    // Prepare
    const { download, deps, downloads } = await setup(5);
    const launcher = deps.launcher as RecordingJobLauncher;

    // Act
    const first = await download(0);
    const second = await download(0);

    // Assess
    expect(first.kind).toBe('pending');
    const job = first.kind === 'pending' ? first.job : undefined;
    expect(job).toMatchObject({ tenant: TENANT, status: 'running' });
    expect(second).toEqual({ kind: 'pending', job });
    expect(launcher.launched).toEqual([{ kind: 'export', tenant: TENANT, jobId: job?.jobId }]);
    expect(downloads()).toEqual([]);
  });

  it("serves a recently completed job's zip without exporting again, recording the download with the job id", async () => {
    // Prepare
    const { download, deps, downloads, clock } = await setup(5);
    const job = await deps.jobs.create(runningJob(clock() - 60_000));
    const key = exportObjectKey(TENANT, job.jobId);
    (deps.objects as InMemoryExportObjectStore).objects.set(key, Buffer.from('zip'));
    await deps.jobs.complete(
      TENANT,
      job.jobId,
      { objectKey: key, entries: 5, bytes: 3, snapshotMaxId: 9 },
      clock(),
    );

    // Act
    const outcome = await download();

    // Assess
    expect(outcome).toMatchObject({ kind: 'redirect', mode: 'job', entries: 5 });
    expect((deps.objects as InMemoryExportObjectStore).objects.size).toBe(1);
    expect(downloads()[0]).toMatchObject({ additional_information: { mode: 'job', job_id: job.jobId } });
  });

  it("exports afresh when the completed job's zip has expired from the bucket", async () => {
    // Prepare
    const { download, deps, clock } = await setup(2);
    const job = await deps.jobs.create(runningJob(clock() - 60_000));
    const key = exportObjectKey(TENANT, job.jobId);
    await deps.jobs.complete(
      TENANT,
      job.jobId,
      { objectKey: key, entries: 2, bytes: 3, snapshotMaxId: 9 },
      clock(),
    );

    // Act
    const outcome = await download();

    // Assess
    expect(outcome).toMatchObject({ kind: 'inline', entries: 2 });
  });

  it('starts a new job when the running one was abandoned', async () => {
    // Prepare
    const { download, deps, clock } = await setup(2);
    const stale = await deps.jobs.create(runningJob(clock() - JOB_ABANDONED_AFTER_MS - 1000));

    // Act
    const outcome = await download(0);

    // Assess
    expect(outcome.kind).toBe('pending');
    expect(outcome.kind === 'pending' ? outcome.job.jobId : stale.jobId).not.toBe(stale.jobId);
  });
});

describe('runExportJob', () => {
  it('exports into the bucket and completes the job with what it stored', async () => {
    // Prepare
    const { deps, clock } = await setup(4);
    const job = await deps.jobs.create(runningJob(clock()));

    // Act
    const done = await runExportJob(deps, { tenant: TENANT, jobId: job.jobId }, 60_000);

    // Assess
    const key = exportObjectKey(TENANT, job.jobId);
    const stored = (deps.objects as InMemoryExportObjectStore).objects.get(key) as Buffer;
    expect(done).toMatchObject({ status: 'completed', objectKey: key, entries: 4, bytes: stored.length });
    expect(await messagesIn(stored)).toHaveLength(4);
  });

  it('does nothing for a job that is no longer running (a redelivered invocation)', async () => {
    // Prepare
    const { deps, clock } = await setup(4);
    const job = await deps.jobs.create(runningJob(clock()));
    await deps.jobs.fail(TENANT, job.jobId, 'failed before', clock());

    // Act
    const again = await runExportJob(deps, { tenant: TENANT, jobId: job.jobId }, 60_000);

    // Assess
    expect(again).toMatchObject({ status: 'failed', message: 'failed before' });
    expect((deps.objects as InMemoryExportObjectStore).objects.size).toBe(0);
  });

  it('records a failed upload on the job, so that the next download starts afresh', async () => {
    // Prepare
    const failing: ExportObjectStore = {
      startUpload: () => {
        const upload = new InMemoryExportObjectStore().startUpload('x');
        upload.stream.once('data', () => upload.stream.destroy(new Error('S3 refused the part')));
        return { stream: upload.stream, done: upload.done };
      },
      presignDownload: async () => 'unused',
      exists: async () => false,
    };
    const { deps, clock } = await setup(4, { objects: failing });
    const job = await deps.jobs.create(runningJob(clock()));

    // Act
    const failed = await runExportJob(deps, { tenant: TENANT, jobId: job.jobId }, 60_000);

    // Assess
    expect(failed).toMatchObject({
      status: 'failed',
      message: 'The export could not be completed; download again to retry',
    });
  });
});

describe('exportJobStatus', () => {
  it("answers a completed job's zip as a presigned URL and records that download", async () => {
    // Prepare
    const { deps, clock, downloads } = await setup(4);
    const job = await deps.jobs.create(runningJob(clock()));
    await runExportJob(deps, { tenant: TENANT, jobId: job.jobId }, 60_000);

    // Act
    const status = await exportJobStatus(deps, { ...WHO, jobId: job.jobId });

    // Assess
    expect(status).toMatchObject({ kind: 'ready', url: expect.stringContaining('expires=300') });
    expect(downloads()[0]).toMatchObject({ additional_information: { mode: 'job', job_id: job.jobId } });
  });

  it("answers running and failed jobs as they are, another tenant's job as unknown, a lost zip as expired", async () => {
    // Prepare
    const { deps, clock } = await setup(1);
    const running = await deps.jobs.create(runningJob(clock()));
    const objects = deps.objects as InMemoryExportObjectStore;

    // Act + Assess
    expect(await exportJobStatus(deps, { ...WHO, jobId: running.jobId })).toEqual({
      kind: 'running',
      job: running,
    });
    expect(await exportJobStatus(deps, { ...WHO, tenant: 'globex', jobId: running.jobId })).toEqual({
      kind: 'unknown',
    });
    await runExportJob(deps, { tenant: TENANT, jobId: running.jobId }, 60_000);
    objects.objects.clear();
    expect((await exportJobStatus(deps, { ...WHO, jobId: running.jobId })).kind).toBe('expired');
  });
});
