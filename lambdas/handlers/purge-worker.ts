import type { Context } from 'aws-lambda';
import { log, withRequestLog } from '../adapters/log.js';
import { environmentConfig } from '../composition/environment.js';
import { type PurgeWorkerDependencies, purgeWorkerDependencies } from '../composition/purge.js';
import { InvariantError } from '../domain/errors.js';
import type { DependenciesProvider } from '../http/context.js';
import type { JobMessage } from '../ports/job-launcher.js';
import { runDeadline, runPurge } from '../use-cases/purge-entries.js';

/**
 * The purge worker (asynchronous invocation): continues a purge job from its checkpoint until it
 * completes, or until its own time runs out, when it hands the rest to a fresh invocation.
 */
export const makeHandler =
  (dependencies: DependenciesProvider<PurgeWorkerDependencies>) =>
  async (message: JobMessage, context: Context): Promise<{ status: string }> => {
    if (message.kind !== 'purge') throw new InvariantError(`purge-worker cannot run ${message.kind} jobs`);
    const deps = await dependencies();
    const deadline = runDeadline(deps.purge.clock(), context.getRemainingTimeInMillis());
    const run = await runPurge(deps.purge, message.tenant, message.jobId, deadline);
    if (!run) {
      log.warn('purge job not found', { jobId: message.jobId });
      return { status: 'missing' };
    }
    log.info('purge run', {
      jobId: message.jobId,
      outcome: run.outcome,
      deleted: run.deleted,
      checkpoint: run.job.checkpoint,
    });
    if (run.outcome === 'paused') await deps.launcher().launch(message);
    return { status: run.outcome };
  };

export const handler = withRequestLog(makeHandler(() => purgeWorkerDependencies(environmentConfig())));
