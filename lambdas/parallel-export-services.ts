import { tmpdir } from 'node:os';
import { ServiceUnavailableError } from './domain/errors.js';
import { getExportObjectStore } from './object-services.js';
import { getExportJobStore, type Services } from './services.js';
import type { ParallelExportDependencies } from './use-cases/parallel-export.js';

/** What the steps of a parallel export job need (the export worker's steps and the chunk handler). */
export const parallelExportDependencies = (services: Services): ParallelExportDependencies => {
  const objects = getExportObjectStore(services.config);
  if (!objects)
    throw new ServiceUnavailableError('Exports are not available: no export bucket is configured');
  const { config } = services;
  return {
    events: services.events,
    counters: services.counters,
    objects,
    jobs: getExportJobStore(services),
    clock: services.clock,
    settings: {
      minPartBytes: config.EXPORT_MIN_PART_BYTES,
      maxChunkEntries: config.EXPORT_CHUNK_MAX_ENTRIES,
      forceZip64: config.EXPORT_FORCE_ZIP64,
      // Lambda's /tmp (512 MB by default; a chunk's part is tens of MB).
      scratchDir: tmpdir(),
    },
  };
};
