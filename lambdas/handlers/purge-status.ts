import { environmentConfig } from '../composition/environment.js';
import { type PurgeStatusDependencies, purgeStatusDependencies } from '../composition/http.js';
import { NotFoundError } from '../domain/errors.js';
import { isPurgeJobId, manifestKey } from '../domain/purge.js';
import { type DependenciesProvider, principalOf } from '../http/context.js';
import { jsonResponse } from '../http/dialects.js';
import { httpHandler } from '../http/http-handler.js';

/**
 * `GET /api/v1/audit_trail/purge/{job}`: a purge job's progress. Jobs are looked up under the
 * caller's tenant only, so another tenant's job id is a 404 like an unknown one.
 */
export const makeHandler = (dependencies: DependenciesProvider<PurgeStatusDependencies>) =>
  httpHandler({ dialect: 'canary', scope: 'purge' }, dependencies, async (event, context, deps) => {
    const jobId = event.pathParameters?.job ?? '';
    const notFound = () => new NotFoundError(`No purge job ${jobId.slice(0, 40)}`);
    if (!isPurgeJobId(jobId)) throw notFound();
    const job = await deps.purges.get(principalOf(context).tenant, jobId);
    if (!job) throw notFound();
    return jsonResponse(200, {
      result: 'success',
      job_id: job.jobId,
      status: job.status,
      through_id: job.throughId,
      deleted: job.deleted,
      last_deleted_id: job.checkpoint >= 0 ? job.checkpoint : null,
      archive: job.archive ? manifestKey(job.jobId) : null,
      started_by: job.startedBy,
      started_at: new Date(job.startedAt).toISOString(),
      updated_at: new Date(job.updatedAt).toISOString(),
      finished_at: job.finishedAt !== undefined ? new Date(job.finishedAt).toISOString() : null,
    });
  });

export const handler = makeHandler(() => purgeStatusDependencies(environmentConfig()));
