import { principalOf } from '../http/context.js';
import {
  downloadDependencies,
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
export const handler = httpHandler({ dialect: 'canary', scope: 'download' }, async (event, context) => {
  const principal = principalOf(context);
  const outcome = await downloadAuditTrail(downloadDependencies(context.services), {
    tenant: principal.tenant,
    tokenId: principal.tokenId,
    tokenName: principal.tokenName,
    budgetMs: requestBudgetMs(context),
  });
  switch (outcome.kind) {
    case 'inline':
      return zipResponse(outcome.zip);
    case 'redirect':
      return redirectResponse(outcome.url, {
        message: `The export of ${outcome.entries} entries is ready at the Location URL (valid ${context.services.config.DOWNLOAD_URL_TTL_SECONDS} s)`,
      });
    case 'pending':
      return pendingResponse(
        outcome.job,
        absoluteLocation(event, `jobs/${encodeURIComponent(outcome.job.jobId)}`),
      );
  }
});
