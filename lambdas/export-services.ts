import { StepFunctionsExportLauncher } from './adapters/step-functions-export-launcher.js';
import { ConfigurationError } from './domain/errors.js';
import type { JobLauncher } from './ports/job-launcher.js';
import type { Services } from './services.js';

let launcher: JobLauncher | undefined;

/**
 * Installs the container's export launcher. The local stack installs its in-process launcher,
 * which runs the export steps as the state machine would (`JOB_LAUNCHER=in-process`).
 */
export const installExportLauncher = (installed: JobLauncher): void => {
  launcher = installed;
};

/**
 * The container's starter of export jobs: in AWS an execution of the export state machine
 * (`EXPORT_STATE_MACHINE_ARN`), locally the launcher the local stack installed. Kept apart from
 * `job-services.ts` so the download function carries no Lambda invoke code, and the purge
 * functions no Step Functions code.
 */
export const getExportLauncher = (services: Pick<Services, 'config' | 'doc'>): JobLauncher => {
  const { config } = services;
  if (!launcher && config.JOB_LAUNCHER === 'in-process')
    throw new ConfigurationError(
      'JOB_LAUNCHER=in-process: only the local stack (local/stack.ts) can run exports in-process',
    );
  launcher ??= new StepFunctionsExportLauncher({
    region: config.AWS_REGION,
    stateMachineArn: config.EXPORT_STATE_MACHINE_ARN,
    credentials: services.doc.config.credentials,
  });
  return launcher;
};
