import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import type { JobLauncher, JobMessage } from '../ports/job-launcher.js';
import { type ExportTaskHandler, runExportMachine, type TaskRetry } from './in-process-export-machine.js';
import { log } from './log.js';

type Worker = (message: JobMessage, context: Context) => Promise<unknown>;
type Task = (payload: Record<string, unknown>, context: Context) => Promise<unknown>;

/** How export jobs run locally (the export state machine's settings). */
export interface LocalExportSettings {
  readonly concurrency: number;
  readonly retry: TaskRetry;
}

/**
 * The local stand-in for asynchronous Lambda invocation: runs `lambdas/handlers/<kind>-worker.ts`
 * in this process, in the background, with the same time budget a Lambda would have. Export jobs
 * run the export state machine's steps instead ({@link runExportMachine}), as Step Functions would.
 */
export class InProcessJobLauncher implements JobLauncher {
  readonly #budgetMs: number;
  readonly #exports: LocalExportSettings;
  readonly #running = new Set<Promise<unknown>>();

  constructor(options: { budgetMs: number; exports: LocalExportSettings }) {
    this.#budgetMs = options.budgetMs;
    this.#exports = options.exports;
  }

  /** A Lambda-like context whose remaining time is the worker budget from now. */
  #context(functionName: string): Context {
    const deadline = Date.now() + this.#budgetMs;
    return {
      functionName,
      awsRequestId: randomUUID(),
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    } as Context;
  }

  /** Runs a task handler of the export state machine, as its Lambda invocation would. */
  readonly #invokeTask = async (
    name: ExportTaskHandler,
    payload: Record<string, unknown>,
  ): Promise<unknown> => {
    // A variable specifier keeps esbuild from globbing every handler into each deployed bundle.
    const specifier = `../handlers/${name}.js`;
    const module = (await import(specifier)) as { handler: Task };
    return module.handler(payload, this.#context(name));
  };

  async launch(message: JobMessage): Promise<void> {
    let work: Promise<unknown>;
    if (message.kind === 'export') {
      work = runExportMachine(message, { invoke: this.#invokeTask, ...this.#exports });
    } else {
      // A variable specifier keeps esbuild from globbing every worker into each deployed bundle.
      const specifier = `../handlers/${message.kind}-worker.js`;
      const module = (await import(specifier)) as { handler: Worker };
      work = module.handler(message, this.#context(`${message.kind}-worker`));
    }
    const run = work.catch((error: unknown) => {
      log.error('background job failed', {
        kind: message.kind,
        jobId: message.jobId,
        error: error instanceof Error ? error.name : 'unknown',
      });
    });
    this.#running.add(run);
    void run.finally(() => this.#running.delete(run));
  }

  /** Resolves once every job launched so far has finished (tests and shutdown wait on it). */
  async idle(): Promise<void> {
    while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
  }
}
