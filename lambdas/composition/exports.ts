import { ServiceUnavailableError } from '../domain/errors.js';
import type { DownloadDependencies } from '../use-cases/download-audit-trail.js';
import type { ServiceConfig } from './config.js';
import { coreServices, counterStore, exportJobStore } from './dynamodb.js';
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
  const { events, clock } = coreServices(config);
  const counters = counterStore(config);
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
