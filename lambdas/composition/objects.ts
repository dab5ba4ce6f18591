import type { S3Client } from '@aws-sdk/client-s3';
import { createS3Client } from '../adapters/aws-clients.js';
import { S3ArchiveStore } from '../adapters/s3-archive-store.js';
import { S3ExportPartStore } from '../adapters/s3-export-part-store.js';
import { S3ExportStore } from '../adapters/s3-export-store.js';
import { S3LargeResponseStore } from '../adapters/s3-response-store.js';
import type { ArchiveStore } from '../ports/archive-store.js';
import type { ExportObjectStore, ExportPartStore } from '../ports/export-store.js';
import type { LargeResponseStore } from '../ports/response-store.js';
import type { ServiceConfig } from './config.js';
import { perConfig } from './memo.js';

/**
 * The S3 side of the composition root: only handlers that touch S3 import it, and each store has
 * its own builder (memoised per configuration), so a bundle holds only the stores its handler
 * uses. All of one configuration share one S3 client.
 */

/** The S3 client of `config`. */
export const s3Client = /* @__PURE__ */ perConfig(
  (config): S3Client =>
    createS3Client({
      region: config.AWS_REGION,
      ...(config.S3_ENDPOINT ? { s3Endpoint: config.S3_ENDPOINT } : {}),
    }),
);

/** Purge archives; undefined when no ARCHIVE_BUCKET is configured. */
export const archiveStore = /* @__PURE__ */ perConfig((config): ArchiveStore | undefined =>
  config.ARCHIVE_BUCKET ? new S3ArchiveStore(s3Client(config), { bucket: config.ARCHIVE_BUCKET }) : undefined,
);

/** Export zips; undefined when no EXPORTS_BUCKET is configured. */
export const exportObjectStore = /* @__PURE__ */ perConfig((config): ExportObjectStore | undefined =>
  config.EXPORTS_BUCKET
    ? new S3ExportStore(s3Client(config), {
        bucket: config.EXPORTS_BUCKET,
        partSize: config.DOWNLOAD_PART_SIZE_BYTES,
      })
    : undefined,
);

/** Parallel exports' multipart uploads; undefined when no EXPORTS_BUCKET is configured. */
export const exportPartStore = /* @__PURE__ */ perConfig((config): ExportPartStore | undefined =>
  config.EXPORTS_BUCKET
    ? new S3ExportPartStore(s3Client(config), { bucket: config.EXPORTS_BUCKET })
    : undefined,
);

/** Parks oversized api-key pages in the exports bucket (303 with `allowRedirect=true`). */
export const largeResponseStore = /* @__PURE__ */ perConfig(
  (config): LargeResponseStore =>
    new S3LargeResponseStore(s3Client(config), { bucket: config.EXPORTS_BUCKET }),
);

/** Every S3 store at once, for tools and tests. */
export interface ObjectServices {
  readonly s3: S3Client;
  readonly archives: ArchiveStore | undefined;
  readonly exportObjects: ExportObjectStore | undefined;
  readonly largeResponses: LargeResponseStore;
}

/** The S3 client and stores of `config` (the very instances its handlers use). */
export const objectServices = (config: ServiceConfig): ObjectServices => ({
  s3: s3Client(config),
  archives: archiveStore(config),
  exportObjects: exportObjectStore(config),
  largeResponses: largeResponseStore(config),
});
