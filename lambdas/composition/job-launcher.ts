import { LambdaJobLauncher } from '../adapters/lambda-job-launcher.js';
import { ConfigurationError } from '../domain/errors.js';
import type { JobLauncher } from '../ports/job-launcher.js';
import type { ServiceConfig } from './config.js';
import { awsCredentials } from './credentials.js';
import { perConfig } from './memo.js';

let installed: JobLauncher | undefined;

/**
 * Installs the launcher used with `JOB_LAUNCHER=in-process`. The local stack installs its
 * in-process launcher here, so that local-only code is not in the deployed bundles.
 */
export const installJobLauncher = (launcher: JobLauncher): void => {
  installed = launcher;
};

const lambdaLauncher = /* @__PURE__ */ perConfig(
  (config): JobLauncher =>
    new LambdaJobLauncher({
      region: config.AWS_REGION,
      // Export jobs start the export state machine instead (`export-launcher.ts`).
      functions: { purge: config.PURGE_WORKER_FUNCTION, export: undefined },
      credentials: awsCredentials(),
    }),
);

/**
 * The launcher of background workers for `config`: asynchronous Lambda invocations in AWS, or the
 * launcher installed by the local stack (`JOB_LAUNCHER=in-process`).
 */
export const jobLauncher = (config: ServiceConfig): JobLauncher => {
  if (installed) return installed;
  if (config.JOB_LAUNCHER === 'in-process')
    throw new ConfigurationError(
      'JOB_LAUNCHER=in-process: only the local stack (local/stack.ts) can run workers in-process',
    );
  return lambdaLauncher(config);
};
