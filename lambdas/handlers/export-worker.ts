import type { Context } from 'aws-lambda';
import { log, withRequestLog } from '../adapters/log.js';
import { environmentConfig } from '../composition/environment.js';
import { type ExportWorkerDependencies, exportWorkerDependencies } from '../composition/export-jobs.js';
import { InvariantError } from '../domain/errors.js';
import { type ExportJob, isExportId } from '../domain/export.js';
import type { DependenciesProvider } from '../http/context.js';
import { runExportJob } from '../use-cases/download-audit-trail.js';
import { abortExport, finishExport } from '../use-cases/finish-export.js';
import { planExport } from '../use-cases/plan-export.js';

/** The steps of an export job this function runs, as the export state machine sends them. */
export type ExportWorkerStep = 'plan' | 'whole' | 'finish' | 'abort';

/** A step's message. */
export interface ExportWorkerMessage {
  readonly step: ExportWorkerStep;
  readonly tenant: string;
  readonly jobId: string;
}

/** What the plan step answers the state machine: how to go on, and the chunks to map over. */
export interface PlanOutput {
  readonly mode: 'single' | 'parallel' | 'skip';
  /** Chunk indexes (the chunks' ranges stay in the job's stored plan). */
  readonly chunks: number[];
}

const STEPS: readonly string[] = ['plan', 'whole', 'finish', 'abort'];

const finished = (job: ExportJob | undefined) =>
  log.info('export job finished', {
    tenant: job?.tenant,
    jobId: job?.jobId,
    status: job?.status,
    entries: job?.entries,
  });

/**
 * The export job's coordinating steps (run by the export state machine; in-process locally):
 * - `plan`: fix the snapshot and cut it into chunks (or choose the single-worker path);
 * - `whole`: the single-worker export (`exportZip`) of a job too small to split, within this function's time;
 * - `finish`: after every chunk (`export-chunk`) is stored, write the zip's end and complete it;
 * - `abort`: after a step failed for good, mark the job failed and abort its multipart upload.
 * A failing step throws, so the state machine retries it or moves to `abort`.
 */
export const makeHandler =
  (dependencies: DependenciesProvider<ExportWorkerDependencies>) =>
  async (message: ExportWorkerMessage, context: Context): Promise<PlanOutput | undefined> => {
    if (
      !STEPS.includes(String(message?.step)) ||
      typeof message.tenant !== 'string' ||
      !isExportId(String(message.jobId))
    )
      // Thrown, so Lambda logs it and the state machine sees the step fail.
      throw new InvariantError('malformed export step message');
    const deps = await dependencies();
    const { tenant, jobId } = message;
    switch (message.step) {
      case 'plan': {
        const plan = await planExport(deps.parallel(), { tenant, jobId });
        const output: PlanOutput = !plan
          ? { mode: 'skip', chunks: [] }
          : plan.mode === 'single'
            ? { mode: 'single', chunks: [] }
            : { mode: 'parallel', chunks: plan.chunks.map((chunk) => chunk.index) };
        log.info('export job planned', { tenant, jobId, mode: output.mode, chunks: output.chunks.length });
        return output;
      }
      case 'whole': {
        const budgetMs = Math.max(0, context.getRemainingTimeInMillis() - deps.budgetMarginMs);
        finished(await runExportJob(deps.single(), { tenant, jobId }, budgetMs));
        return undefined;
      }
      case 'finish': {
        finished(await finishExport(deps.parallel(), { tenant, jobId }));
        return undefined;
      }
      case 'abort':
        await abortExport(deps.parallel(), { tenant, jobId });
        log.warn('export job failed', { tenant, jobId });
        return undefined;
    }
  };

export const handler = withRequestLog(makeHandler(() => exportWorkerDependencies(environmentConfig())));
