import { ServiceUnavailableError } from '../domain/errors.js';
import type { HttpDependencies } from '../http/context.js';
import type { DownloadDependencies } from '../use-cases/download-audit-trail.js';
import type { ServiceConfig } from './config.js';
import { coreServices, exportJobStore } from './dynamodb.js';
import { httpDependencies } from './http.js';
import { perConfig } from './memo.js';
import { exportObjectStore } from './objects.js';
import { tlogExportFiles } from './tlog.js';

/**
 * What export jobs and their status need: no job launcher, so the functions that only run or
 * report jobs carry no invoke code (and hold no invoke grant). 503 without an export bucket.
 */
export const exportDependencies = (config: ServiceConfig): Omit<DownloadDependencies, 'launcher'> => {
  const objects = exportObjectStore(config);
  if (!objects)
    throw new ServiceUnavailableError('Downloads are not available: no export bucket is configured');
  const { events, counters, clock } = coreServices(config);
  const trailingFiles = tlogExportFiles(config);
  return {
    ...(trailingFiles ? { trailingFiles } : {}),
    events,
    counters,
    objects,
    jobs: exportJobStore(config),
    clock,
    inlineMaxBytes: config.DOWNLOAD_INLINE_MAX_BYTES,
    urlTtlSeconds: config.DOWNLOAD_URL_TTL_SECONDS,
    reuseSeconds: config.DOWNLOAD_REUSE_SECONDS,
  };
};

/** `GET /api/v1/audit_trail/download/jobs/{job}`: the export stores, built on use (503 without a bucket). */
export type DownloadJobStatusDependencies = HttpDependencies & {
  readonly exports: () => Omit<DownloadDependencies, 'launcher'>;
};
export const downloadJobStatusDependencies = /* @__PURE__ */ perConfig(
  (config: ServiceConfig): DownloadJobStatusDependencies => ({
    ...httpDependencies(config),
    exports: () => exportDependencies(config),
  }),
);
