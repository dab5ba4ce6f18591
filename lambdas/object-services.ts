import type { S3Client } from '@aws-sdk/client-s3';
import { createS3Client } from './adapters/aws-clients.js';
import { S3ArchiveStore } from './adapters/s3-archive-store.js';
import { S3ExportPartStore } from './adapters/s3-export-part-store.js';
import { S3ExportStore } from './adapters/s3-export-store.js';
import { S3LargeResponseStore } from './adapters/s3-response-store.js';
import type { ServiceConfig } from './config.js';
import type { ArchiveStore } from './ports/archive-store.js';
import type { ExportObjectStore, ExportPartStore } from './ports/export-store.js';
import type { LargeResponseStore } from './ports/response-store.js';

/**
 * The S3 side of the composition root (see `services.ts`): only handlers that touch S3 import it,
 * and each store has its own getter, so a bundle holds only the stores its handler uses. All share
 * one S3 client per container.
 */

let s3: S3Client | undefined;
let archives: { store: ArchiveStore | undefined } | undefined;
let exportObjects: { store: ExportObjectStore | undefined } | undefined;
let largeResponses: LargeResponseStore | undefined;
let exportParts: { store: ExportPartStore | undefined } | undefined;

/** The container's S3 client. */
export const getS3Client = (config: ServiceConfig): S3Client => {
  s3 ??= createS3Client({
    region: config.AWS_REGION,
    ...(config.S3_ENDPOINT ? { s3Endpoint: config.S3_ENDPOINT } : {}),
  });
  return s3;
};

/** Purge archives; undefined when no ARCHIVE_BUCKET is configured. */
export const getArchiveStore = (config: ServiceConfig): ArchiveStore | undefined => {
  archives ??= {
    store: config.ARCHIVE_BUCKET
      ? new S3ArchiveStore(getS3Client(config), { bucket: config.ARCHIVE_BUCKET })
      : undefined,
  };
  return archives.store;
};

/** Export zips; undefined when no EXPORTS_BUCKET is configured. */
export const getExportObjectStore = (config: ServiceConfig): ExportObjectStore | undefined => {
  exportObjects ??= {
    store: config.EXPORTS_BUCKET
      ? new S3ExportStore(getS3Client(config), {
          bucket: config.EXPORTS_BUCKET,
          partSize: config.DOWNLOAD_PART_SIZE_BYTES,
        })
      : undefined,
  };
  return exportObjects.store;
};

/** Parallel exports' multipart uploads; undefined when no EXPORTS_BUCKET is configured. */
export const getExportPartStore = (config: ServiceConfig): ExportPartStore | undefined => {
  exportParts ??= {
    store: config.EXPORTS_BUCKET
      ? new S3ExportPartStore(getS3Client(config), { bucket: config.EXPORTS_BUCKET })
      : undefined,
  };
  return exportParts.store;
};

/** Parks oversized api-key pages in the exports bucket (303 with `allowRedirect=true`). */
export const getLargeResponseStore = (config: ServiceConfig): LargeResponseStore => {
  largeResponses ??= new S3LargeResponseStore(getS3Client(config), { bucket: config.EXPORTS_BUCKET });
  return largeResponses;
};

/** Every S3 store at once, for tools and tests. */
export interface ObjectServices {
  readonly s3: S3Client;
  readonly archives: ArchiveStore | undefined;
  readonly exportObjects: ExportObjectStore | undefined;
  readonly largeResponses: LargeResponseStore;
}

/** The container's S3 client and stores (the very instances the handlers use). */
export const objectServices = (config: ServiceConfig): ObjectServices => ({
  s3: getS3Client(config),
  archives: getArchiveStore(config),
  exportObjects: getExportObjectStore(config),
  largeResponses: getLargeResponseStore(config),
});
