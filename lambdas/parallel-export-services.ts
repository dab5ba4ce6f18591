import { tmpdir } from 'node:os';
import { ServiceUnavailableError } from './domain/errors.js';
import { getExportObjectStore, getExportPartStore } from './object-services.js';
import { getExportJobStore, getExportPlanStore, type Services } from './services.js';
import type { ExportJobDependencies } from './use-cases/download-audit-trail.js';
import type { ParallelExportDependencies } from './use-cases/parallel-export.js';

const noBucket = () =>
  new ServiceUnavailableError('Exports are not available: no export bucket is configured');

/** What the steps of a parallel export job need (the export worker's steps and the chunk handler). */
export const parallelExportDependencies = (services: Services): ParallelExportDependencies => {
  const parts = getExportPartStore(services.config);
  if (!parts) throw noBucket();
  const { config } = services;
  return {
    events: services.events,
    counters: services.counters,
    parts,
    jobs: getExportJobStore(services),
    plans: getExportPlanStore(services),
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

/**
 * What the single-worker export of a job needs (the export worker's `whole` step): without the
 * HTTP answers and presigning of `http/download-responses.ts`, which the worker never uses.
 */
export const singleExportDependencies = (services: Services): ExportJobDependencies => {
  const objects = getExportObjectStore(services.config);
  if (!objects) throw noBucket();
  return { events: services.events, objects, jobs: getExportJobStore(services), clock: services.clock };
};
