import type { HttpDependencies } from '../http/context.js';
import type { ArchiveStore } from '../ports/archive-store.js';
import { archiveStore } from './archive-objects.js';
import type { ServiceConfig } from './config.js';
import { httpDependencies } from './http.js';
import { perConfig } from './memo.js';

/** The archive endpoints: purge archives, undefined when no archive bucket is configured. */
export type ArchivesDependencies = HttpDependencies & {
  readonly archives: ArchiveStore | undefined;
  readonly archiveUrlSeconds: number;
};
export const archivesDependencies = /* @__PURE__ */ perConfig(
  (config: ServiceConfig): ArchivesDependencies => ({
    ...httpDependencies(config),
    archives: archiveStore(config),
    archiveUrlSeconds: config.ARCHIVE_URL_SECONDS,
  }),
);
