import type { HttpDependencies } from '../http/context.js';
import type { ArchiveLinks, ArchiveStore } from '../ports/archive-store.js';
import { archiveLinks, archiveStore } from './archive-objects.js';
import type { ServiceConfig } from './config.js';
import { httpDependencies } from './http.js';
import { perConfig } from './memo.js';

/** `GET /api/v1/audit_trail/archives`: purge archives, undefined when no archive bucket is configured. */
export type ArchiveListDependencies = HttpDependencies & {
  readonly archives: ArchiveStore | undefined;
};
export const archiveListDependencies = /* @__PURE__ */ perConfig(
  (config: ServiceConfig): ArchiveListDependencies => ({
    ...httpDependencies(config),
    archives: archiveStore(config),
  }),
);

/**
 * `GET /api/v1/audit_trail/archives/{key}`: links to purge archives, undefined when no archive
 * bucket is configured, and how long a link lives.
 */
export type ArchiveGetDependencies = HttpDependencies & {
  readonly links: ArchiveLinks | undefined;
  readonly archiveUrlSeconds: number;
};
export const archiveGetDependencies = /* @__PURE__ */ perConfig(
  (config: ServiceConfig): ArchiveGetDependencies => ({
    ...httpDependencies(config),
    links: archiveLinks(config),
    archiveUrlSeconds: config.ARCHIVE_URL_SECONDS,
  }),
);
