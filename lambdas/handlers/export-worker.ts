import type { Context } from 'aws-lambda';
import { isExportId } from '../domain/export.js';
import { exportDependencies } from '../http/download-responses.js';
import { log } from '../http/log.js';
import type { JobMessage } from '../ports/job-launcher.js';
import { getServices } from '../services.js';
import { runExportJob } from '../use-cases/download-audit-trail.js';

/**
 * The export worker (asynchronous invocation; in-process locally): makes an export job's zip in
 * S3 within the function's remaining time, then marks the job completed or failed.
 */
export const handler = async (message: JobMessage, context: Context): Promise<void> => {
  if (
    message?.kind !== 'export' ||
    typeof message.tenant !== 'string' ||
    !isExportId(String(message.jobId))
  ) {
    log.error('export worker: malformed job message');
    return;
  }
  const services = await getServices();
  const budgetMs = Math.max(
    0,
    context.getRemainingTimeInMillis() - services.config.DOWNLOAD_BUDGET_MARGIN_MS,
  );
  const job = await runExportJob(exportDependencies(services), message, budgetMs);
  log.info('export job finished', {
    tenant: message.tenant,
    jobId: message.jobId,
    status: job?.status ?? 'unknown',
    entries: job?.entries,
  });
};
