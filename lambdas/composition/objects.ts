import type { S3Client } from '@aws-sdk/client-s3';
import { S3ExportPartStore } from '../adapters/s3-export-part-store.js';
import { S3ExportStore } from '../adapters/s3-export-store.js';
import type { ArchiveStore } from '../ports/archive-store.js';
import type { ExportObjectStore, ExportPartStore } from '../ports/export-store.js';
import type { LargeResponseStore } from '../ports/response-store.js';
import { archiveStore } from './archive-objects.js';
import type { ServiceConfig } from './config.js';
import { perConfig } from './memo.js';
import { largeResponseStore } from './response-objects.js';
import { s3Client } from './s3-client.js';

export { s3Client };

/**
 * The export stores of the composition root (zips, and parallel exports' parts), and every S3 store
 * at once for tools and tests. Archives and parked api-key pages have their own modules
 * (`archive-objects.ts`, `response-objects.ts`), so a bundle carries only the stores it uses.
 */

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
