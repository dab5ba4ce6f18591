import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import { log } from '../http/log.js';
import type { JobLauncher, JobMessage } from '../ports/job-launcher.js';

type Worker = (message: JobMessage, context: Context) => Promise<unknown>;

/**
 * The local stand-in for asynchronous Lambda invocation: runs `lambdas/handlers/<kind>-worker.ts`
 * in this process, in the background, with the same time budget a Lambda would have.
 */
export class InProcessJobLauncher implements JobLauncher {
  readonly #budgetMs: number;
  readonly #running = new Set<Promise<unknown>>();

  constructor(options: { budgetMs: number }) {
    this.#budgetMs = options.budgetMs;
  }

  async launch(message: JobMessage): Promise<void> {
    // A variable specifier keeps esbuild from globbing every worker into each deployed bundle.
    const specifier = `../handlers/${message.kind}-worker.js`;
    const module = (await import(specifier)) as { handler: Worker };
    const deadline = Date.now() + this.#budgetMs;
    const context = {
      functionName: `${message.kind}-worker`,
      awsRequestId: randomUUID(),
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    } as Context;
    const run = module.handler(message, context).catch((error: unknown) => {
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
