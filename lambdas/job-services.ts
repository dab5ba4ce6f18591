import { InProcessJobLauncher } from './adapters/in-process-job-launcher.js';
import { LambdaJobLauncher } from './adapters/lambda-job-launcher.js';
import type { JobLauncher } from './ports/job-launcher.js';
import type { Services } from './services.js';

let launcher: JobLauncher | undefined;

/**
 * The container's launcher of background workers (see `services.ts`): asynchronous Lambda
 * invocations in AWS, the worker handlers in this process locally (`JOB_LAUNCHER=in-process`).
 */
export const getJobLauncher = (services: Pick<Services, 'config' | 'doc'>): JobLauncher => {
  const { config } = services;
  launcher ??=
    config.JOB_LAUNCHER === 'in-process'
      ? new InProcessJobLauncher({ budgetMs: config.LOCAL_WORKER_BUDGET_MS })
      : new LambdaJobLauncher({
          region: config.AWS_REGION,
          functions: { purge: config.PURGE_WORKER_FUNCTION, export: config.EXPORT_WORKER_FUNCTION },
          credentials: services.doc.config.credentials,
        });
  return launcher;
};
