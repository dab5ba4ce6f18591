import { environmentConfig } from '../composition/environment.js';
import { type PurgeEndpointDependencies, purgeEndpointDependencies } from '../composition/purge.js';
import { ConflictError } from '../domain/errors.js';
import { manifestKey, parsePurgeId } from '../domain/purge.js';
import { type DependenciesProvider, principalOf } from '../http/context.js';
import { JOB_POLL_SECONDS, jsonResponse } from '../http/dialects.js';
import { httpHandler } from '../http/http-handler.js';
import { absoluteLocation, requireMediaType } from '../http/request.js';
import { purgeThrough, runDeadline } from '../use-cases/purge-entries.js';

const STATUS_PATH = '/api/v1/audit_trail/purge/';
const FORM = 'application/x-www-form-urlencoded';

/**
 * `POST /api/v1/audit_trail/purge` (seed 001): deletes every entry with id ≤ `id` (form field or
 * query parameter) that exists now, oldest first; repeating it after it completed deletes what was
 * written ≤ id since (see `purgeThrough`). It purges within the request's time budget and answers 200 with
 * `deleted`; past the budget the job continues in the purge worker and the answer is 202 with the
 * job id, an absolute `Location` of its status and `Retry-After`.
 */
export const makeHandler = (dependencies: DependenciesProvider<PurgeEndpointDependencies>) =>
  httpHandler({ dialect: 'canary', scope: 'purge' }, dependencies, async (event, context, deps) => {
    // Fields come as a form body or in the query; any other body would be silently ignored.
    requireMediaType(event, (type) => type === FORM, FORM);
    const throughId = parsePurgeId(context.form.id ?? context.query.id);
    const principal = principalOf(context);
    const deadline = runDeadline(
      deps.purge.clock(),
      context.getRemainingTimeInMillis(),
      deps.requestBudgetMs,
    );
    const outcome = await purgeThrough(
      deps.purge,
      {
        tenant: principal.tenant,
        throughId,
        requester: { kind: 'token', tokenId: principal.tokenId, tokenName: principal.tokenName },
      },
      deadline,
    );
    if (outcome.kind === 'busy') {
      const { active } = outcome;
      throw new ConflictError(
        `Another purge (job ${active.jobId}, through id ${active.throughId}) has not finished; follow it at ${STATUS_PATH}${active.jobId} or repeat it with id=${active.throughId} to resume it`,
      );
    }
    const { run, job, deleted } = outcome;
    const { jobId } = job;
    if (run?.outcome === 'completed') {
      return jsonResponse(200, {
        result: 'success',
        message: `Purged ${deleted} audit trail entries with id up to ${throughId}`,
        deleted,
        job_id: jobId,
        archive: job.archive && job.deleted > 0 ? manifestKey(jobId) : null,
      });
    }
    if (run?.outcome === 'paused') {
      await deps.launcher().launch({ kind: 'purge', tenant: principal.tenant, jobId });
    }
    return jsonResponse(
      202,
      {
        result: 'success',
        message: `Purge of entries with id up to ${throughId} continues in the background; follow it at ${STATUS_PATH}${jobId}`,
        deleted,
        job_id: jobId,
        status: 'running',
      },
      {
        location: absoluteLocation(event, `purge/${encodeURIComponent(jobId)}`),
        'retry-after': String(JOB_POLL_SECONDS),
      },
    );
  });

export const handler = makeHandler(() => purgeEndpointDependencies(environmentConfig()));
