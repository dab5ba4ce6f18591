import type { TrailingFiles } from '../domain/export.js';
import type { ExportPlan } from '../domain/export-plan.js';
import type { CounterStore } from '../ports/counter-store.js';
import type { EventStore } from '../ports/event-store.js';
import type { ExportJobStore, ExportPartStore, ExportPlanStore } from '../ports/export-store.js';

/**
 * Parallel export jobs, shared by their steps (docs/download.md, "Parallel export jobs"):
 * `plan-export.ts` (plan), `run-export-chunk.ts` (one chunk), `finish-export.ts` (finish, abort).
 */

/** How parallel exports are sized and written. */
export interface ParallelExportSettings {
  /** Smallest part S3 accepts (5 MiB; lower only on an emulator, in tests). */
  readonly minPartBytes: number;
  /** Most entries in one chunk: its time bound (about two minutes at the measured pace). */
  readonly maxChunkEntries: number;
  /** Write ZIP64 records even when the sizes do not need them (tests). */
  readonly forceZip64: boolean;
  /** Where a chunk's compressed part waits for its upload (Lambda: /tmp). */
  readonly scratchDir: string;
}

/** What the steps of a parallel export need. */
export interface ParallelExportDependencies {
  readonly events: EventStore;
  readonly counters: CounterStore;
  readonly parts: ExportPartStore;
  readonly jobs: ExportJobStore;
  readonly plans: ExportPlanStore;
  readonly clock: () => number;
  readonly settings: ParallelExportSettings;
  /**
   * Files to add after the document, given what the export holds; none today. A later checkpoint
   * (signed tree head at `snapshotMaxId`) plugs in here without touching the chunk path.
   */
  readonly trailingFiles?: TrailingFiles;
}

/** An export job's step message (from the state machine, or the local driver). */
export interface ExportStepMessage {
  readonly tenant: string;
  readonly jobId: string;
}

/** Thrown when a chunk or the finishing step finds the job unable to go on (it then fails for good). */
export class ExportPlanError extends Error {
  override readonly name = 'ExportPlanError';
}

/** Deflate level of every chunk and of the tail, and of the single-worker export's entries. */
export const DEFLATE_LEVEL = 6;

/** The running job's parallel plan; throws when there is none (a step out of order). */
export const parallelPlanOf = async (
  deps: Pick<ParallelExportDependencies, 'plans'>,
  message: ExportStepMessage,
): Promise<Extract<ExportPlan, { mode: 'parallel' }>> => {
  const plan = await deps.plans.plan(message.tenant, message.jobId);
  if (plan?.mode !== 'parallel')
    throw new ExportPlanError(`export job ${message.jobId} has no parallel plan`);
  return plan;
};

/** The message a job that failed for good shows. */
export const EXPORT_FAILED_MESSAGE = 'The export could not be completed; download again to retry';
