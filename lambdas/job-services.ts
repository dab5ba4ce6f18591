import { LambdaJobLauncher } from './adapters/lambda-job-launcher.js';
import { ConfigurationError } from './domain/errors.js';
import type { JobLauncher } from './ports/job-launcher.js';
import type { Services } from './services.js';

let launcher: JobLauncher | undefined;

/**
 * Installs the container's job launcher. The local stack installs its in-process launcher here
 * (`JOB_LAUNCHER=in-process`), so that local-only code is not in the deployed bundles.
 */
export const installJobLauncher = (installed: JobLauncher): void => {
  launcher = installed;
};

/**
 * The container's launcher of background workers (see `services.ts`): asynchronous Lambda
 * invocations in AWS, or the launcher installed by the local stack.
 */
export const getJobLauncher = (services: Pick<Services, 'config' | 'doc'>): JobLauncher => {
  const { config } = services;
  if (!launcher && config.JOB_LAUNCHER === 'in-process')
    throw new ConfigurationError(
      'JOB_LAUNCHER=in-process: only the local stack (local/stack.ts) can run workers in-process',
    );
  launcher ??= new LambdaJobLauncher({
    region: config.AWS_REGION,
    // Export jobs start the export state machine instead (`export-services.ts`).
    functions: { purge: config.PURGE_WORKER_FUNCTION, export: undefined },
    credentials: services.doc.config.credentials,
  });
  return launcher;
};
