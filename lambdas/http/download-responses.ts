import type { APIGatewayProxyResult } from 'aws-lambda';
import { EXPORT_CONTENT_DISPOSITION, EXPORT_CONTENT_TYPE, type ExportJob } from '../domain/export.js';
import type { RequestContext } from './context.js';
import { JOB_POLL_SECONDS, jsonResponse } from './dialects.js';

/**
 * How long this request may spend exporting: a fixed budget when one is configured, else the
 * Lambda's remaining time less `marginMs`.
 */
export const requestBudgetMs = (
  context: Pick<RequestContext, 'getRemainingTimeInMillis'>,
  settings: { readonly fixedMs: number | undefined; readonly marginMs: number },
): number => settings.fixedMs ?? Math.max(0, context.getRemainingTimeInMillis() - settings.marginMs);

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
