import { describe, expect, it } from '@jest/globals';
import { type ExportJob, JOB_ABANDONED_AFTER_MS, newExportId } from '../../lambdas/domain/export.js';
import type { ExportJobStore } from '../../lambdas/ports/export-store.js';
import { freshTenant } from './dynamodb-local.js';

const T0 = Date.UTC(2026, 2, 10, 12);

const runningJob = (tenant: string, createdAt: number): ExportJob => ({
  tenant,
  jobId: newExportId(createdAt),
  status: 'running',
  createdAt,
  updatedAt: createdAt,
});

const result = {
  objectKey: 'exports/x/exp/canary_audit_trail.json.zip',
  entries: 3,
  bytes: 120,
  snapshotMaxId: 99,
};

/**
 * The behaviour every ExportJobStore must have (see the port): one running job per tenant unless
 * it was abandoned, jobs visible only to their tenant, the newest one found, and updates that
 * only apply to a running job.
 */
export const describeExportJobStoreContract = (name: string, make: () => ExportJobStore): void => {
  describe(`ExportJobStore contract: ${name}`, () => {
    it('stores a new job and finds it by id and as the latest, for its tenant only', async () => {
      // Prepare
      const jobs = make();
      const tenant = freshTenant();
      const job = runningJob(tenant, T0);

      // Act
      const created = await jobs.create(job);

      // Assess
      expect(created).toEqual(job);
      expect(await jobs.get(tenant, job.jobId)).toEqual(job);
      expect(await jobs.latest(tenant)).toEqual(job);
      expect(await jobs.get(freshTenant(), job.jobId)).toBeUndefined();
      expect(await jobs.latest(freshTenant())).toBeUndefined();
    });

    it('returns the running job instead of storing a second one', async () => {
      // Prepare
      const jobs = make();
      const tenant = freshTenant();
      const first = await jobs.create(runningJob(tenant, T0));

      // Act
      const second = await jobs.create(runningJob(tenant, T0 + 60_000));

      // Assess
      expect(second).toEqual(first);
      expect(await jobs.latest(tenant)).toEqual(first);
    });

    it('starts a new job once the running one finished, and that one is the latest', async () => {
      // Prepare
      const jobs = make();
      const tenant = freshTenant();
      const first = await jobs.create(runningJob(tenant, T0));
      await jobs.complete(tenant, first.jobId, result, T0 + 1000);

      // Act
      const next = runningJob(tenant, T0 + 2000);
      const created = await jobs.create(next);

      // Assess
      expect(created).toEqual(next);
      expect(await jobs.latest(tenant)).toEqual(next);
    });

    it('replaces a running job that stopped reporting (abandoned)', async () => {
      // Prepare
      const jobs = make();
      const tenant = freshTenant();
      await jobs.create(runningJob(tenant, T0));

      // Act
      const next = runningJob(tenant, T0 + JOB_ABANDONED_AFTER_MS + 1);
      const created = await jobs.create(next);

      // Assess
      expect(created).toEqual(next);
    });

    it('completes a running job with its result, or fails it with a message', async () => {
      // Prepare
      const jobs = make();
      const [one, other] = [freshTenant(), freshTenant()];
      const done = await jobs.create(runningJob(one, T0));
      const failed = await jobs.create(runningJob(other, T0));

      // Act
      await jobs.complete(one, done.jobId, result, T0 + 5000);
      await jobs.fail(other, failed.jobId, 'The export did not finish', T0 + 6000);

      // Assess
      expect(await jobs.get(one, done.jobId)).toEqual({
        ...done,
        ...result,
        status: 'completed',
        updatedAt: T0 + 5000,
      });
      expect(await jobs.get(other, failed.jobId)).toEqual({
        ...failed,
        status: 'failed',
        message: 'The export did not finish',
        updatedAt: T0 + 6000,
      });
    });

    it('refuses to complete or fail a job that is not running', async () => {
      // Prepare
      const jobs = make();
      const tenant = freshTenant();
      const job = await jobs.create(runningJob(tenant, T0));
      await jobs.fail(tenant, job.jobId, 'failed once', T0 + 1000);

      // Act
      const complete = jobs.complete(tenant, job.jobId, result, T0 + 2000);
      const failAgain = jobs.fail(tenant, job.jobId, 'again', T0 + 2000);

      // Assess
      await expect(complete).rejects.toThrow();
      await expect(failAgain).rejects.toThrow();
      expect(await jobs.get(tenant, job.jobId)).toMatchObject({ status: 'failed', message: 'failed once' });
    });
  });
};
