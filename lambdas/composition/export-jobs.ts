import { tmpdir } from 'node:os';
import { ServiceUnavailableError } from '../domain/errors.js';
import type { ExportJobDependencies } from '../use-cases/download-audit-trail.js';
import type { ParallelExportDependencies } from '../use-cases/parallel-export.js';
import type { ServiceConfig } from './config.js';
import { coreServices, counterStore, exportJobStore, exportPlanStore } from './dynamodb.js';
import { exportObjectStore, exportPartStore } from './objects.js';
import { tlogExportFiles } from './tlog.js';

const noBucket = () =>
  new ServiceUnavailableError('Exports are not available: no export bucket is configured');

/** What the steps of a parallel export job need (the export worker's steps and the chunk handler). */
export const parallelExportDependencies = (config: ServiceConfig): ParallelExportDependencies => {
  const parts = exportPartStore(config);
  if (!parts) throw noBucket();
  const { events, clock } = coreServices(config);
  const counters = counterStore(config);
  const trailingFiles = tlogExportFiles(config);
  return {
    ...(trailingFiles ? { trailingFiles } : {}),
    events,
    counters,
    parts,
    jobs: exportJobStore(config),
    plans: exportPlanStore(config),
    clock,
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
 * HTTP answers and presigning of the download endpoints, which the worker never uses.
 */
export const singleExportDependencies = (config: ServiceConfig): ExportJobDependencies => {
  const objects = exportObjectStore(config);
  if (!objects) throw noBucket();
  const { events, clock } = coreServices(config);
  const trailingFiles = tlogExportFiles(config);
  return {
    events,
    objects,
    jobs: exportJobStore(config),
    clock,
    ...(trailingFiles ? { trailingFiles } : {}),
  };
};

/** The export worker (the export state machine's steps): both kinds of export, built on use. */
export interface ExportWorkerDependencies {
  readonly parallel: () => ParallelExportDependencies;
  readonly single: () => ExportJobDependencies;
  /** Time kept free at the end of a single-worker export. */
  readonly budgetMarginMs: number;
}
export const exportWorkerDependencies = (config: ServiceConfig): ExportWorkerDependencies => ({
  parallel: () => parallelExportDependencies(config),
  single: () => singleExportDependencies(config),
  budgetMarginMs: config.DOWNLOAD_BUDGET_MARGIN_MS,
});
