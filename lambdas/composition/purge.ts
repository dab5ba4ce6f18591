import type { HttpDependencies } from '../http/context.js';
import type { JobLauncher } from '../ports/job-launcher.js';
import type { PurgeDependencies } from '../use-cases/purge-entries.js';
import { retentionTenants } from '../use-cases/retention-tenants.js';
import { archiveStore } from './archive-objects.js';
import type { ServiceConfig } from './config.js';
import { coreServices, entryDeletion, idempotencyStore, purgeStore, tenantStore } from './dynamodb.js';
import { httpDependencies } from './http.js';
import { jobLauncher } from './job-launcher.js';
import { perConfig } from './memo.js';
import { tlogArchiveProofs, tlogPurgeReceipts } from './tlog.js';

/** What purging needs (the purge API, its worker and the retention scheduler share it). */
export const purgeDependencies = /* @__PURE__ */ perConfig((config: ServiceConfig): PurgeDependencies => {
  const { events, clock } = coreServices(config);
  const receipts = tlogPurgeReceipts(config);
  const archiveProof = tlogArchiveProofs(config);
  return {
    ...(receipts ? { receipts } : {}),
    ...(archiveProof ? { archiveProof } : {}),
    events,
    clock,
    purges: purgeStore(config),
    deletion: entryDeletion(config),
    idempotency: idempotencyStore(config),
    tenants: tenantStore(config),
    archives: archiveStore(config),
    partEntries: config.PURGE_PART_ENTRIES,
    leaseMs: config.PURGE_LEASE_SECONDS * 1000,
  };
});

/** `POST /api/v1/audit_trail/purge`: purging, the worker's launcher and the in-request time budget. */
export type PurgeEndpointDependencies = HttpDependencies & {
  readonly purge: PurgeDependencies;
  readonly launcher: () => JobLauncher;
  readonly requestBudgetMs: number;
};
export const purgeEndpointDependencies = /* @__PURE__ */ perConfig(
  (config: ServiceConfig): PurgeEndpointDependencies => ({
    ...httpDependencies(config),
    purge: purgeDependencies(config),
    launcher: () => jobLauncher(config),
    requestBudgetMs: config.PURGE_REQUEST_BUDGET_MS,
  }),
);

/** The purge worker: purging, and the launcher that hands a paused run to the next invocation. */
export interface PurgeWorkerDependencies {
  readonly purge: PurgeDependencies;
  readonly launcher: () => JobLauncher;
}
export const purgeWorkerDependencies = /* @__PURE__ */ perConfig(
  (config: ServiceConfig): PurgeWorkerDependencies => ({
    purge: purgeDependencies(config),
    launcher: () => jobLauncher(config),
  }),
);

/** The retention scheduler: the worker's, over every tenant with a retention (the reserved one included). */
export const purgeSchedulerDependencies = /* @__PURE__ */ perConfig(
  (config: ServiceConfig): PurgeWorkerDependencies => {
    const purge = purgeDependencies(config);
    return {
      purge: { ...purge, tenants: retentionTenants(purge.tenants, config.UNAUTHENTICATED_RETENTION_DAYS) },
      launcher: () => jobLauncher(config),
    };
  },
);
