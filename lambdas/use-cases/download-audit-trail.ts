import {
  downloadRecordDraft,
  type ExportJob,
  type ExportMode,
  exportObjectKey,
  newExportId,
  reuseDecision,
  type TrailingFiles,
} from '../domain/export.js';
import type { CounterStore } from '../ports/counter-store.js';
import type { EventStore } from '../ports/event-store.js';
import type { ExportJobStore, ExportLinks, ExportObjectStore } from '../ports/export-store.js';
import type { JobLauncher } from '../ports/job-launcher.js';
import { ExportBudgetExceeded, exportZip } from './export-zip.js';

/** What downloading needs. */
export interface DownloadDependencies {
  readonly events: EventStore;
  readonly counters: CounterStore;
  readonly objects: ExportObjectStore;
  readonly jobs: ExportJobStore;
  readonly launcher: JobLauncher;
  readonly clock: () => number;
  readonly inlineMaxBytes: number;
  readonly urlTtlSeconds: number;
  readonly reuseSeconds: number;
  /** Files added after the document (the verifiable log's proof file); none when absent. */
  readonly trailingFiles?: TrailingFiles;
}

/** Who asks, for the audit entry that records the download. */
export interface DownloadRequest {
  readonly tenant: string;
  readonly tokenId: string;
  readonly tokenName: string;
  /** How long this request may spend exporting before it hands the export to a job. */
  readonly budgetMs: number;
}

export type DownloadOutcome =
  | { readonly kind: 'inline'; readonly zip: Buffer; readonly entries: number }
  | { readonly kind: 'redirect'; readonly url: string; readonly entries: number; readonly mode: ExportMode }
  | { readonly kind: 'pending'; readonly job: ExportJob };

/**
 * `GET download/json`: serves the tenant's export inline when its zip is small, from S3 (303 to
 * a presigned URL) when it is large, and through an export job (202) when it cannot be made within
 * the request's budget. A later request is served from that job once it is done (see
 * {@link reuseDecision}). Every download handed out is recorded in the audit trail.
 */
export const downloadAuditTrail = async (
  deps: DownloadDependencies,
  request: DownloadRequest,
): Promise<DownloadOutcome> => {
  const { tenant } = request;
  const latest = await deps.jobs.latest(tenant);
  const decision = reuseDecision(latest, deps.clock(), deps.reuseSeconds * 1000);
  if (latest && decision === 'wait') return { kind: 'pending', job: latest };
  if (
    latest?.objectKey !== undefined &&
    decision === 'serve' &&
    (await deps.objects.exists(latest.objectKey))
  ) {
    const url = await deps.objects.presignDownload(latest.objectKey, deps.urlTtlSeconds);
    const entries = latest.entries ?? 0;
    await record(deps, request, {
      entries,
      mode: 'job',
      bytes: latest.bytes ?? 0,
      snapshotMaxId: latest.snapshotMaxId ?? 0,
      jobId: latest.jobId,
    });
    return { kind: 'redirect', url, entries, mode: 'job' };
  }

  const started = deps.clock();
  const exportId = newExportId(started);
  const key = exportObjectKey(tenant, exportId);
  try {
    const result = await exportZip({
      events: deps.events,
      tenant,
      inlineMaxBytes: deps.inlineMaxBytes,
      startUpload: () => deps.objects.startUpload(key),
      clock: deps.clock,
      deadline: started + request.budgetMs,
      expectedEntries: await deps.counters.total(tenant, { kind: 'all' }),
      ...(deps.trailingFiles ? { trailingFiles: deps.trailingFiles } : {}),
    });
    if (result.kind === 'inline') {
      await record(deps, request, {
        entries: result.entries,
        mode: 'inline',
        bytes: result.zip.length,
        snapshotMaxId: result.snapshotMaxId,
      });
      return { kind: 'inline', zip: result.zip, entries: result.entries };
    }
    const url = await deps.objects.presignDownload(key, deps.urlTtlSeconds);
    await record(deps, request, {
      entries: result.entries,
      mode: 's3',
      bytes: result.bytes,
      snapshotMaxId: result.snapshotMaxId,
    });
    return { kind: 'redirect', url, entries: result.entries, mode: 's3' };
  } catch (error) {
    if (!(error instanceof ExportBudgetExceeded)) throw error;
  }
  // Too big for this request: a worker with a longer budget starts over (a zip stream cannot be
  // resumed in another process), and this request's partial upload was already cancelled.
  const now = deps.clock();
  const job: ExportJob = {
    tenant,
    jobId: newExportId(now),
    status: 'running',
    createdAt: now,
    updatedAt: now,
  };
  const running = await deps.jobs.create(job);
  // A simultaneous download started the tenant's job first: wait for that one instead.
  if (running.jobId !== job.jobId) return { kind: 'pending', job: running };
  await deps.launcher.launch({ kind: 'export', tenant, jobId: job.jobId });
  return { kind: 'pending', job };
};

const record = (
  deps: Pick<DownloadDependencies, 'events'>,
  request: Pick<DownloadRequest, 'tenant' | 'tokenId' | 'tokenName'>,
  details: { entries: number; mode: ExportMode; bytes: number; snapshotMaxId: number; jobId?: string },
) =>
  deps.events.append(request.tenant, [
    downloadRecordDraft({ tokenId: request.tokenId, tokenName: request.tokenName, ...details }),
  ]);

/** What an export worker needs. */
export type ExportJobDependencies = Pick<
  DownloadDependencies,
  'events' | 'objects' | 'jobs' | 'clock' | 'trailingFiles'
>;

/**
 * Runs an export job to completion within `budgetMs`, always into S3 (there is no response to
 * carry it inline). Re-running a job that is no longer running does nothing, so a redelivered
 * invocation is harmless. Failures are recorded on the job, whose next download starts afresh.
 */
export const runExportJob = async (
  deps: ExportJobDependencies,
  message: { tenant: string; jobId: string },
  budgetMs: number,
): Promise<ExportJob | undefined> => {
  const job = await deps.jobs.get(message.tenant, message.jobId);
  if (job?.status !== 'running') return job;
  const key = exportObjectKey(job.tenant, job.jobId);
  const started = deps.clock();
  try {
    const result = await exportZip({
      events: deps.events,
      tenant: job.tenant,
      inlineMaxBytes: -1,
      startUpload: () => deps.objects.startUpload(key),
      clock: deps.clock,
      deadline: started + budgetMs,
      ...(deps.trailingFiles ? { trailingFiles: deps.trailingFiles } : {}),
    });
    const bytes = result.kind === 'stored' ? result.bytes : result.zip.length;
    await deps.jobs.complete(
      job.tenant,
      job.jobId,
      { objectKey: key, entries: result.entries, bytes, snapshotMaxId: result.snapshotMaxId },
      deps.clock(),
    );
  } catch (error) {
    const reason =
      error instanceof ExportBudgetExceeded
        ? 'The export did not finish within the worker time limit'
        : 'The export could not be completed; download again to retry';
    await deps.jobs.fail(job.tenant, job.jobId, reason, deps.clock());
  }
  return deps.jobs.get(job.tenant, job.jobId);
};

/** What `GET download/jobs/{job}` answers. */
export type JobStatusOutcome =
  | { readonly kind: 'running' | 'failed'; readonly job: ExportJob }
  | { readonly kind: 'ready'; readonly job: ExportJob; readonly url: string }
  | { readonly kind: 'expired'; readonly job: ExportJob }
  | { readonly kind: 'unknown' };

/** What reporting an export job needs: the links to finished exports, not the upload side. */
export type ExportJobStatusDependencies = Pick<DownloadDependencies, 'events' | 'jobs' | 'urlTtlSeconds'> & {
  readonly objects: ExportLinks;
};

/**
 * The state of one of the tenant's export jobs. A completed job's zip is handed out (and the
 * download recorded) as a presigned URL; another tenant's job id is simply unknown.
 */
export const exportJobStatus = async (
  deps: ExportJobStatusDependencies,
  request: Omit<DownloadRequest, 'budgetMs'> & { readonly jobId: string },
): Promise<JobStatusOutcome> => {
  const job = await deps.jobs.get(request.tenant, request.jobId);
  if (!job) return { kind: 'unknown' };
  if (job.status !== 'completed') return { kind: job.status, job };
  if (job.objectKey === undefined || !(await deps.objects.exists(job.objectKey)))
    return { kind: 'expired', job };
  const url = await deps.objects.presignDownload(job.objectKey, deps.urlTtlSeconds);
  await record(deps, request, {
    entries: job.entries ?? 0,
    mode: 'job',
    bytes: job.bytes ?? 0,
    snapshotMaxId: job.snapshotMaxId ?? 0,
    jobId: job.jobId,
  });
  return { kind: 'ready', job, url };
};
