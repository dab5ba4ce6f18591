import type { APIGatewayProxyResult } from 'aws-lambda';
import { ServiceUnavailableError } from '../domain/errors.js';
import { EXPORT_CONTENT_DISPOSITION, EXPORT_CONTENT_TYPE, type ExportJob } from '../domain/export.js';
import { getExportLauncher } from '../export-services.js';
import { getExportObjectStore } from '../object-services.js';
import type { ExportObjectStore } from '../ports/export-store.js';
import { getExportJobStore, type Services } from '../services.js';
import type { DownloadDependencies } from '../use-cases/download-audit-trail.js';
import type { RequestContext } from './context.js';
import { JOB_POLL_SECONDS, jsonResponse } from './dialects.js';

/**
 * What export jobs and their status need, from the container's services: no job launcher, so the
 * functions that only run or report jobs carry no invoke code (and hold no invoke grant).
 */
export const exportDependencies = (services: Services): Omit<DownloadDependencies, 'launcher'> => ({
  events: services.events,
  counters: services.counters,
  objects: exportObjectsOf(getExportObjectStore(services.config)),
  jobs: getExportJobStore(services),
  clock: services.clock,
  inlineMaxBytes: services.config.DOWNLOAD_INLINE_MAX_BYTES,
  urlTtlSeconds: services.config.DOWNLOAD_URL_TTL_SECONDS,
  reuseSeconds: services.config.DOWNLOAD_REUSE_SECONDS,
});

/** What a download needs: the above, and the launcher that hands a large export to a job. */
export const downloadDependencies = (services: Services): DownloadDependencies => ({
  ...exportDependencies(services),
  launcher: getExportLauncher(services),
});

const exportObjectsOf = (store: ExportObjectStore | undefined): ExportObjectStore => {
  if (!store)
    throw new ServiceUnavailableError('Downloads are not available: no export bucket is configured');
  return store;
};

/** How long this request may spend exporting: the Lambda's remaining time less a margin. */
export const requestBudgetMs = (context: RequestContext): number =>
  context.services.config.DOWNLOAD_REQUEST_BUDGET_MS ??
  Math.max(0, context.getRemainingTimeInMillis() - context.services.config.DOWNLOAD_BUDGET_MARGIN_MS);

/** The zip itself, base64 for API Gateway (which needs the type in its binaryMediaTypes). */
export const zipResponse = (zip: Buffer): APIGatewayProxyResult => ({
  statusCode: 200,
  headers: {
    'content-type': EXPORT_CONTENT_TYPE,
    'content-disposition': EXPORT_CONTENT_DISPOSITION,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  },
  body: zip.toString('base64'),
  isBase64Encoded: true,
});

/** 303 to a presigned URL of the zip. */
export const redirectResponse = (url: string, body: Record<string, unknown>): APIGatewayProxyResult =>
  jsonResponse(303, { result: 'success', ...body }, { location: url });

/**
 * 202 for an export still being made. `location` is the job's status URL, absolute (see
 * absoluteLocation: built from the request's host and full path, so it keeps any stage or
 * base path); `Retry-After` says when to ask again.
 */
export const pendingResponse = (job: ExportJob, location: string): APIGatewayProxyResult =>
  jsonResponse(
    202,
    {
      result: 'success',
      message:
        'The export is being prepared. Repeat this request (or poll the Location URL) until it answers 303.',
      job_id: job.jobId,
      status: job.status,
      // A parallel export's progress: chunks stored of the total.
      ...(job.progress ? { chunks: { done: job.progress.chunksDone, total: job.progress.chunks } } : {}),
    },
    { location, 'retry-after': String(JOB_POLL_SECONDS) },
  );
