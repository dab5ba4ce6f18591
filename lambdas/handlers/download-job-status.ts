import { environmentConfig } from '../composition/environment.js';
import {
  type DownloadJobStatusDependencies,
  downloadJobStatusDependencies,
} from '../composition/export-status.js';
import { NotFoundError } from '../domain/errors.js';
import { isExportId } from '../domain/export.js';
import { type DependenciesProvider, principalOf } from '../http/context.js';
import { jsonResponse } from '../http/dialects.js';
import { pendingResponse, redirectResponse } from '../http/download-responses.js';
import { httpHandler } from '../http/http-handler.js';
import { absoluteLocation } from '../http/request.js';
import { exportJobStatus } from '../use-cases/download-audit-trail.js';

/**
 * `GET /api/v1/audit_trail/download/jobs/{job}`: 202 while the export job runs, 303 to its zip
 * once done, 200 with the reason when it failed; 404 for an unknown job or another tenant's.
 */
export const makeHandler = (dependencies: DependenciesProvider<DownloadJobStatusDependencies>) =>
  httpHandler({ dialect: 'canary', scope: 'download' }, dependencies, async (event, context, deps) => {
    const principal = principalOf(context);
    const jobId = event.pathParameters?.job ?? '';
    const notFound = () => new NotFoundError(`No export job ${jobId.slice(0, 64)} for this account`);
    if (!isExportId(jobId)) throw notFound();
    const outcome = await exportJobStatus(deps.exports(), {
      tenant: principal.tenant,
      tokenId: principal.tokenId,
      tokenName: principal.tokenName,
      jobId,
    });
    switch (outcome.kind) {
      case 'unknown':
        throw notFound();
      case 'running':
        return pendingResponse(outcome.job, absoluteLocation(event, encodeURIComponent(jobId)));
      case 'ready':
        return redirectResponse(outcome.url, {
          message: `The export of ${outcome.job.entries ?? 0} entries is ready at the Location URL`,
          job_id: jobId,
          status: 'completed',
        });
      case 'expired':
        throw new NotFoundError(`The export of job ${jobId} has expired; download again for a new one`);
      case 'failed':
        return jsonResponse(200, {
          result: 'success',
          message: outcome.job.message ?? 'The export failed; download again to retry',
          job_id: jobId,
          status: 'failed',
        });
    }
  });

export const handler = makeHandler(() => downloadJobStatusDependencies(environmentConfig()));
