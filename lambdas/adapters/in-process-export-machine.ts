import { setTimeout as sleep } from 'node:timers/promises';
import type { JobMessage } from '../ports/job-launcher.js';

/** The export state machine's task handlers, by file name under `lambdas/handlers/`. */
export type ExportTaskHandler = 'export-worker' | 'export-chunk';

/** How the local driver retries a task (the state machine's Retry: interval, doubling). */
export interface TaskRetry {
  readonly retries: number;
  readonly intervalMs: number;
  readonly backoffRate: number;
}

/** What the local driver needs: a way to run a task handler, and the state machine's settings. */
export interface ExportMachineOptions {
  readonly invoke: (handler: ExportTaskHandler, payload: Record<string, unknown>) => Promise<unknown>;
  /** Chunks in flight at once (the Map's MaxConcurrency). */
  readonly concurrency: number;
  readonly retry: TaskRetry;
}

interface PlanOutput {
  readonly mode: 'single' | 'parallel' | 'skip';
  readonly chunks: number[];
}

const withRetry = async <T>(task: () => Promise<T>, retry: TaskRetry): Promise<T> => {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await task();
    } catch (error) {
      if (attempt >= retry.retries) throw error;
      await sleep(retry.intervalMs * retry.backoffRate ** attempt);
    }
  }
};

/**
 * The export state machine (lib/audit-trail.ts, `ExportStateMachine`) run in this process, for the
 * local stack and the tests: plan → (single: the whole export | parallel: every chunk, at most
 * `concurrency` at once, each retried → finish), any step failing for good → abort. The same
 * handlers, the same retry policy; like the Map, a chunk failing for good starts no further chunks.
 */
export const runExportMachine = async (message: JobMessage, options: ExportMachineOptions): Promise<void> => {
  const { tenant, jobId } = message;
  const step = (name: string) => options.invoke('export-worker', { step: name, tenant, jobId });
  try {
    const plan = (await withRetry(() => step('plan'), options.retry)) as PlanOutput;
    if (plan.mode === 'skip') return;
    if (plan.mode === 'single') {
      // The single-worker export records its own failure on the job; no retry (as in AWS).
      await step('whole');
      return;
    }
    const queue = [...plan.chunks];
    let failure: unknown;
    await Promise.all(
      Array.from({ length: Math.min(options.concurrency, queue.length) }, async () => {
        for (let index = queue.shift(); index !== undefined && failure === undefined; index = queue.shift()) {
          const chunk = index;
          try {
            await withRetry(
              () => options.invoke('export-chunk', { tenant, jobId, index: chunk }),
              options.retry,
            );
          } catch (error) {
            failure ??= error;
          }
        }
      }),
    );
    if (failure !== undefined) throw failure;
    await withRetry(() => step('finish'), options.retry);
  } catch (error) {
    await step('abort');
    throw error;
  }
};
