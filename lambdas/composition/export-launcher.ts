import { StepFunctionsExportLauncher } from '../adapters/step-functions-export-launcher.js';
import { ConfigurationError } from '../domain/errors.js';
import type { JobLauncher } from '../ports/job-launcher.js';
import type { ServiceConfig } from './config.js';
import { awsCredentials } from './credentials.js';
import { perConfig } from './memo.js';

let installed: JobLauncher | undefined;

/**
 * Installs the export launcher used with `JOB_LAUNCHER=in-process`: the local stack's, which runs
 * the export steps as the state machine would.
 */
export const installExportLauncher = (launcher: JobLauncher): void => {
  installed = launcher;
};

const stateMachineLauncher = /* @__PURE__ */ perConfig(
  (config): JobLauncher =>
    new StepFunctionsExportLauncher({
      region: config.AWS_REGION,
      stateMachineArn: config.EXPORT_STATE_MACHINE_ARN,
      credentials: awsCredentials(),
    }),
);

/**
 * The starter of export jobs for `config`: in AWS an execution of the export state machine
 * (`EXPORT_STATE_MACHINE_ARN`), locally the launcher the local stack installed. Kept apart from
 * `job-launcher.ts` so the download function carries no Lambda invoke code, and the purge
 * functions no Step Functions code.
 */
export const exportLauncher = (config: ServiceConfig): JobLauncher => {
  if (installed) return installed;
  if (config.JOB_LAUNCHER === 'in-process')
    throw new ConfigurationError(
      'JOB_LAUNCHER=in-process: only the local stack (local/stack.ts) can run exports in-process',
    );
  return stateMachineLauncher(config);
};
