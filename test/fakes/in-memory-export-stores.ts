import { PassThrough } from 'node:stream';
import { type ExportJob, JOB_ABANDONED_AFTER_MS } from '../../lambdas/domain/export.js';
import type { ExportJobStore, ExportObjectStore, ExportUpload } from '../../lambdas/ports/export-store.js';
import type { JobLauncher, JobMessage } from '../../lambdas/ports/job-launcher.js';

/** What DynamoDB answers a failed condition with; the job store lets it escape, as the adapter does. */
const conditionFailed = (): Error =>
  Object.assign(new Error('The conditional request failed'), { name: 'ConditionalCheckFailedException' });

/**
 * An {@link ExportJobStore} in memory: one running job per tenant at a time (unless it was
 * abandoned), the newest job by id, and updates only to running jobs.
 */
export class InMemoryExportJobStore implements ExportJobStore {
  readonly #jobs = new Map<string, Map<string, ExportJob>>();
  /** The job holding each tenant's export slot, and since when. */
  readonly #slots = new Map<string, { jobId: string; since: number }>();

  #of(tenant: string): Map<string, ExportJob> {
    let jobs = this.#jobs.get(tenant);
    if (!jobs) {
      jobs = new Map();
      this.#jobs.set(tenant, jobs);
    }
    return jobs;
  }

  async create(job: ExportJob): Promise<ExportJob> {
    const jobs = this.#of(job.tenant);
    if (jobs.has(job.jobId)) throw conditionFailed();
    const slot = this.#slots.get(job.tenant);
    const holder = slot ? jobs.get(slot.jobId) : undefined;
    if (slot && holder?.status === 'running' && slot.since >= job.createdAt - JOB_ABANDONED_AFTER_MS)
      return holder;
    jobs.set(job.jobId, job);
    this.#slots.set(job.tenant, { jobId: job.jobId, since: job.createdAt });
    return job;
  }

  async get(tenant: string, jobId: string): Promise<ExportJob | undefined> {
    return this.#jobs.get(tenant)?.get(jobId);
  }

  async latest(tenant: string): Promise<ExportJob | undefined> {
    const ids = [...(this.#jobs.get(tenant)?.keys() ?? [])].sort();
    const newest = ids[ids.length - 1];
    return newest === undefined ? undefined : this.#jobs.get(tenant)?.get(newest);
  }

  #update(tenant: string, jobId: string, change: Partial<ExportJob>): void {
    const job = this.#jobs.get(tenant)?.get(jobId);
    if (job?.status !== 'running') throw conditionFailed();
    this.#of(tenant).set(jobId, { ...job, ...change });
  }

  async complete(
    tenant: string,
    jobId: string,
    result: Required<Pick<ExportJob, 'objectKey' | 'entries' | 'bytes' | 'snapshotMaxId'>>,
    now: number,
  ): Promise<void> {
    this.#update(tenant, jobId, { ...result, status: 'completed', updatedAt: now });
  }

  async fail(tenant: string, jobId: string, message: string, now: number): Promise<void> {
    this.#update(tenant, jobId, { status: 'failed', message, updatedAt: now });
  }
}

/**
 * An {@link ExportObjectStore} in memory: uploads keep their bytes once the stream ends, a
 * destroyed stream stores nothing, and a presigned URL names its key and lifetime.
 */
export class InMemoryExportObjectStore implements ExportObjectStore {
  readonly objects = new Map<string, Buffer>();

  startUpload(key: string): ExportUpload {
    const stream = new PassThrough();
    const chunks: Buffer[] = [];
    const done = new Promise<void>((resolve, reject) => {
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', () => undefined);
      stream.on('end', () => {
        this.objects.set(key, Buffer.concat(chunks));
        resolve();
      });
      stream.on('close', () => {
        if (!stream.readableEnded) reject(new Error('upload cancelled'));
      });
    });
    return { stream, done };
  }

  async presignDownload(key: string, expiresInSeconds: number): Promise<string> {
    return `https://exports.example.com/${encodeURI(key)}?expires=${expiresInSeconds}`;
  }

  async exists(key: string): Promise<boolean> {
    return this.objects.has(key);
  }
}

/** A {@link JobLauncher} that records what it was asked to launch. */
export class RecordingJobLauncher implements JobLauncher {
  readonly launched: JobMessage[] = [];

  async launch(message: JobMessage): Promise<void> {
    this.launched.push(message);
  }
}
