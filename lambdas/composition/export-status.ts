import { S3ExportLinks } from '../adapters/s3-export-links.js';
import { ServiceUnavailableError } from '../domain/errors.js';
import type { HttpDependencies } from '../http/context.js';
import type { ExportJobStatusDependencies } from '../use-cases/download-audit-trail.js';
import type { ServiceConfig } from './config.js';
import { coreServices, exportJobStore } from './dynamodb.js';
import { httpDependencies } from './http.js';
import { perConfig } from './memo.js';
import { s3Client } from './s3-client.js';

/**
 * `GET /api/v1/audit_trail/download/jobs/{job}`: the job store and links to finished exports,
 * built on use (503 without an export bucket). Apart from `exports.ts` so that this function's
 * bundle holds neither the upload side nor the export's proof file code.
 */
export type DownloadJobStatusDependencies = HttpDependencies & {
  readonly exports: () => ExportJobStatusDependencies;
};
export const downloadJobStatusDependencies = /* @__PURE__ */ perConfig(
  (config: ServiceConfig): DownloadJobStatusDependencies => ({
    ...httpDependencies(config),
    exports: () => {
      if (!config.EXPORTS_BUCKET)
        throw new ServiceUnavailableError('Downloads are not available: no export bucket is configured');
      return {
        events: coreServices(config).events,
        jobs: exportJobStore(config),
        objects: new S3ExportLinks(s3Client(config), { bucket: config.EXPORTS_BUCKET }),
        urlTtlSeconds: config.DOWNLOAD_URL_TTL_SECONDS,
      };
    },
  }),
);
