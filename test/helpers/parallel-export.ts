import { GetObjectCommand } from '@aws-sdk/client-s3';
import { EXPORT_JSON_NAME, type ExportJob, newExportId } from '../../lambdas/domain/export.js';
import { exportZip } from '../../lambdas/use-cases/export-zip.js';
import type { TestService } from './local-service.js';

/** What the parallel-export tests share: starting a job without HTTP, and the two exports to compare. */

/** Creates a running export job for `tenant`, as a download that outgrew its request does. */
export const createExportJob = async (service: TestService, tenant: string): Promise<ExportJob> => {
  const now = Date.now();
  const job: ExportJob = {
    tenant,
    jobId: newExportId(now),
    status: 'running',
    createdAt: now,
    updatedAt: now,
  };
  const created = await service.services.exportJobs.create(job);
  if (created.jobId !== job.jobId) throw new Error(`${tenant} already has a running export job`);
  return job;
};

/** Runs an export job through the local state machine (plan → chunks → finish) and waits for it. */
export const runExportJobLocally = async (service: TestService, tenant: string): Promise<ExportJob> => {
  const job = await createExportJob(service, tenant);
  await service.jobs.launch({ kind: 'export', tenant, jobId: job.jobId });
  await service.jobs.idle();
  const done = await service.services.exportJobs.get(tenant, job.jobId);
  if (!done) throw new Error('the job vanished');
  return done;
};

/** The stored zip of a completed job. */
export const storedZip = async (service: TestService, job: ExportJob): Promise<Buffer> => {
  const output = await service.objects.s3.send(
    new GetObjectCommand({ Bucket: service.services.config.EXPORTS_BUCKET, Key: job.objectKey }),
  );
  return Buffer.from((await output.Body?.transformToByteArray()) ?? new Uint8Array());
};

/** The single-worker export of the tenant as it is now (in memory): the reference. */
export const singleWorkerZip = async (service: TestService, tenant: string): Promise<Buffer> => {
  const result = await exportZip({
    events: service.services.events,
    tenant,
    inlineMaxBytes: Number.MAX_SAFE_INTEGER,
    startUpload: () => {
      throw new Error('the reference export stays in memory');
    },
    clock: Date.now,
    deadline: Date.now() + 600_000,
  });
  if (result.kind !== 'inline') throw new Error('expected an in-memory zip');
  return result.zip;
};

export { EXPORT_JSON_NAME };
