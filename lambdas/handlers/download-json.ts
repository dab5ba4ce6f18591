import { type DownloadJsonDependencies, downloadJsonDependencies } from '../composition/downloads.js';
import { environmentConfig } from '../composition/environment.js';
import { type DependenciesProvider, principalOf } from '../http/context.js';
import {
  pendingResponse,
  redirectResponse,
  requestBudgetMs,
  zipResponse,
} from '../http/download-responses.js';
import { httpHandler } from '../http/http-handler.js';
import { absoluteLocation } from '../http/request.js';
import { downloadAuditTrail } from '../use-cases/download-audit-trail.js';

/**
 * `GET /api/v1/audit_trail/download/json` (seed 001): `canary_audit_trail.json.zip`, inline when
 * small, else 303 to a presigned S3 URL; 202 with the job's absolute status URL (`Location`) and
 * `Retry-After` when the export needs longer than this request may take (repeat the request to get the 303 once it is ready).
 */
export const makeHandler = (dependencies: DependenciesProvider<DownloadJsonDependencies>) =>
  httpHandler({ dialect: 'canary', scope: 'download' }, dependencies, async (event, context, deps) => {
    const principal = principalOf(context);
    const outcome = await downloadAuditTrail(deps.download(), {
      tenant: principal.tenant,
      tokenId: principal.tokenId,
      tokenName: principal.tokenName,
      budgetMs: requestBudgetMs(context, deps.budget),
    });
    switch (outcome.kind) {
      case 'inline':
        return zipResponse(outcome.zip);
      case 'redirect':
        return redirectResponse(outcome.url, {
          message: `The export of ${outcome.entries} entries is ready at the Location URL (valid ${deps.urlTtlSeconds} s)`,
        });
      case 'pending':
        return pendingResponse(
          outcome.job,
          absoluteLocation(event, `jobs/${encodeURIComponent(outcome.job.jobId)}`),
        );
    }
  });

export const handler = makeHandler(() => downloadJsonDependencies(environmentConfig()));
