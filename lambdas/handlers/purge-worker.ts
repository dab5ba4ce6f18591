import type { Context } from 'aws-lambda';
import { InvariantError } from '../domain/errors.js';
import { log } from '../http/log.js';
import { getJobLauncher } from '../job-services.js';
import type { JobMessage } from '../ports/job-launcher.js';
import { purgeDependenciesOf } from '../purge-services.js';
import { getServices } from '../services.js';
import { runDeadline, runPurge } from '../use-cases/purge-entries.js';

/**
 * The purge worker (asynchronous invocation): continues a purge job from its checkpoint until it
 * completes, or until its own time runs out, when it hands the rest to a fresh invocation.
 */
export const handler = async (message: JobMessage, context: Context): Promise<{ status: string }> => {
  if (message.kind !== 'purge') throw new InvariantError(`purge-worker cannot run ${message.kind} jobs`);
  const services = await getServices();
  const deadline = runDeadline(services.clock(), context.getRemainingTimeInMillis());
  const run = await runPurge(purgeDependenciesOf(services), message.tenant, message.jobId, deadline);
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
  if (run.outcome === 'paused') await getJobLauncher(services).launch(message);
  return { status: run.outcome };
};
