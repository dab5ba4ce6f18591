import type { S3Client } from '@aws-sdk/client-s3';
import { createS3Client } from './adapters/aws-clients.js';
import { S3ArchiveStore } from './adapters/s3-archive-store.js';
import { S3ExportStore } from './adapters/s3-export-store.js';
import { S3LargeResponseStore } from './adapters/s3-response-store.js';
import type { ServiceConfig } from './config.js';
import type { ArchiveStore } from './ports/archive-store.js';
import type { ExportObjectStore } from './ports/export-store.js';
import type { LargeResponseStore } from './ports/response-store.js';

/** The S3 side of the composition root (see `services.ts`): only handlers that touch S3 import it. */
export interface ObjectServices {
  readonly s3: S3Client;
  /** Absent when ARCHIVE_BUCKET is not configured. */
  readonly archives: ArchiveStore | undefined;
  /** Export zips; absent when no EXPORTS_BUCKET is configured. */
  readonly exportObjects: ExportObjectStore | undefined;
  /** Parks oversized api-key pages in the exports bucket (303 with `allowRedirect=true`). */
  readonly largeResponses: LargeResponseStore;
}

/** Builds the S3 stores for `config`. */
export const buildObjectServices = (config: ServiceConfig): ObjectServices => {
  const s3 = createS3Client({
    region: config.AWS_REGION,
    ...(config.S3_ENDPOINT ? { s3Endpoint: config.S3_ENDPOINT } : {}),
  });
  return {
    s3,
    archives: config.ARCHIVE_BUCKET ? new S3ArchiveStore(s3, { bucket: config.ARCHIVE_BUCKET }) : undefined,
    exportObjects: config.EXPORTS_BUCKET
      ? new S3ExportStore(s3, { bucket: config.EXPORTS_BUCKET, partSize: config.DOWNLOAD_PART_SIZE_BYTES })
      : undefined,
    largeResponses: new S3LargeResponseStore(s3, { bucket: config.EXPORTS_BUCKET }),
  };
};

let objectServices: ObjectServices | undefined;

/** The container's S3 stores, built on first use from the configuration the services were built with. */
export const getObjectServices = (config: ServiceConfig): ObjectServices => {
  objectServices ??= buildObjectServices(config);
  return objectServices;
};
