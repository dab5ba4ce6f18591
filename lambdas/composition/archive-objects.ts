import { S3ArchiveLinks } from '../adapters/s3-archive-links.js';
import { S3ArchiveStore } from '../adapters/s3-archive-store.js';
import type { ArchiveLinks, ArchiveStore } from '../ports/archive-store.js';
import { perConfig } from './memo.js';
import { s3Client } from './s3-client.js';

/** Purge archives; undefined when no ARCHIVE_BUCKET is configured. */
export const archiveStore = /* @__PURE__ */ perConfig((config): ArchiveStore | undefined =>
  config.ARCHIVE_BUCKET ? new S3ArchiveStore(s3Client(config), { bucket: config.ARCHIVE_BUCKET }) : undefined,
);

/**
 * Links to purge archives (the archive endpoint's presigned GETs); undefined when no
 * ARCHIVE_BUCKET is configured. Its own builder, so the purge functions carry no presigner.
 */
export const archiveLinks = /* @__PURE__ */ perConfig((config): ArchiveLinks | undefined =>
  config.ARCHIVE_BUCKET ? new S3ArchiveLinks(s3Client(config), { bucket: config.ARCHIVE_BUCKET }) : undefined,
);
