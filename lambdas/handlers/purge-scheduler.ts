import type { Context } from 'aws-lambda';
import { log } from '../http/log.js';
import { getJobLauncher } from '../job-services.js';
import { purgeDependenciesOf } from '../purge-services.js';
import { getServices, getTenantStore } from '../services.js';
import { applyRetention, runDeadline } from '../use-cases/purge-entries.js';
import { retentionTenants } from '../use-cases/retention-tenants.js';

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
export const handler = async (_event: unknown, context: Context): Promise<RetentionSummary> => {
  const services = await getServices();
  const tenantStore = retentionTenants(
    getTenantStore(services),
    services.config.UNAUTHENTICATED_RETENTION_DAYS,
  );
  const deps = { ...purgeDependenciesOf(services), tenants: tenantStore };
  const deadline = runDeadline(services.clock(), context.getRemainingTimeInMillis());
  let purged = 0;
  let continuing = 0;
  let failed = 0;
  const tenants = await tenantStore.list();
  for (const tenant of tenants) {
    try {
      const result = await applyRetention(deps, tenant, deadline);
      purged += result.run?.deleted ?? 0;
      if (result.run?.outcome === 'paused') {
        continuing += 1;
        await getJobLauncher(services).launch({ kind: 'purge', tenant, jobId: result.run.job.jobId });
      }
    } catch (error) {
      failed += 1;
      log.error('retention failed', { tenant, error: error instanceof Error ? error.name : 'unknown' });
    }
  }
  log.info('retention run', { tenants: tenants.length, purged, continuing, failed });
  return { tenants: tenants.length, purged, continuing, failed };
};
