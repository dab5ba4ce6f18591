import type { Context } from 'aws-lambda';
import { log, withRequestLog } from '../adapters/log.js';
import { environmentConfig } from '../composition/environment.js';
import { type PurgeWorkerDependencies, purgeSchedulerDependencies } from '../composition/purge.js';
import type { DependenciesProvider } from '../http/context.js';
import { applyRetention, runDeadline } from '../use-cases/purge-entries.js';

/** What one scheduler run did, per tenant. */
export interface RetentionSummary {
  readonly tenants: number;
  readonly purged: number;
  readonly continuing: number;
  readonly failed: number;
}

/**
 * Retention (EventBridge Scheduler, daily; the local stack runs it on an interval): for every
 * tenant, purges the entries older than its retention days through the same job code as the API;
 * the `#unauthenticated` partition too, after `UNAUTHENTICATED_RETENTION_DAYS` (see retentionTenants).
 * A job that does not finish in this run continues in the purge worker.
 */
export const makeHandler =
  (dependencies: DependenciesProvider<PurgeWorkerDependencies>) =>
  async (_event: unknown, context: Context): Promise<RetentionSummary> => {
    const { purge: deps, launcher } = await dependencies();
    const deadline = runDeadline(deps.clock(), context.getRemainingTimeInMillis());
    let purged = 0;
    let continuing = 0;
    let failed = 0;
    const tenants = await deps.tenants.list();
    for (const tenant of tenants) {
      try {
        const result = await applyRetention(deps, tenant, deadline);
        purged += result.run?.deleted ?? 0;
        if (result.run?.outcome === 'paused') {
          continuing += 1;
          await launcher().launch({ kind: 'purge', tenant, jobId: result.run.job.jobId });
        }
      } catch (error) {
        failed += 1;
        log.error('retention failed', { tenant, error: error instanceof Error ? error.name : 'unknown' });
      }
    }
    log.info('retention run', { tenants: tenants.length, purged, continuing, failed });
    return { tenants: tenants.length, purged, continuing, failed };
  };

export const handler = withRequestLog(makeHandler(() => purgeSchedulerDependencies(environmentConfig())));
