import type { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import { ConfigurationError } from '../domain/errors.js';
import type { JobLauncher, JobMessage } from '../ports/job-launcher.js';
import type { BackoffPolicy } from './backoff.js';
import { type AttemptOutcome, awsSigner, signedPost, withRetries } from './signed-aws-post.js';

/** Where the launcher starts executions: the region's Step Functions endpoint unless `endpoint` is given. */
export interface StepFunctionsExportLauncherOptions {
  readonly region: string;
  /** The export state machine. */
  readonly stateMachineArn: string | undefined;
  /** The container's credential chain (the DynamoDB client's, so there is one). */
  readonly credentials: AwsCredentialIdentityProvider;
  readonly endpoint?: string;
  readonly backoff?: BackoffPolicy;
}

const START_BACKOFF: BackoffPolicy = { maxAttempts: 5, baseDelayMs: 50, maxDelayMs: 1000 };

/**
 * Starts export jobs as executions of the export state machine (`StartExecution`, named after the
 * job, so a repeated start of the same job is the same execution). As the Lambda launcher, this is
 * the one Step Functions call the service makes: a `fetch` signed by the SDK's SigV4 signer
 * rather than the SDK's Step Functions client. Throttling, server and network errors are retried
 * with jittered backoff.
 */
export class StepFunctionsExportLauncher implements JobLauncher {
  readonly #options: StepFunctionsExportLauncherOptions;
  readonly #endpoint: string;
  readonly #signer: SignatureV4;

  constructor(options: StepFunctionsExportLauncherOptions) {
    this.#options = options;
    this.#endpoint = options.endpoint ?? `https://states.${options.region}.amazonaws.com`;
    this.#signer = awsSigner('states', options.region, options.credentials);
  }

  async launch(message: JobMessage): Promise<void> {
    const stateMachineArn = this.#options.stateMachineArn;
    if (message.kind !== 'export' || !stateMachineArn)
      throw new ConfigurationError(`No state machine is configured for ${message.kind} jobs`);
    const body = JSON.stringify({
      stateMachineArn,
      name: message.jobId,
      input: JSON.stringify({ tenant: message.tenant, jobId: message.jobId }),
    });
    await withRetries(
      this.#options.backoff ?? START_BACKOFF,
      () => this.#start(body),
      (reason) => `Could not start the export state machine: ${reason}`,
    );
  }

  #start(body: string): Promise<AttemptOutcome> {
    const headers = {
      'content-type': 'application/x-amz-json-1.0',
      'x-amz-target': 'AWSStepFunctions.StartExecution',
    };
    return signedPost(this.#signer, new URL(`${this.#endpoint}/`), headers, body, async (response) => {
      const text = await response.text().catch(() => '');
      if (response.status === 200) return { kind: 'accepted' };
      let type = '';
      try {
        type = String((JSON.parse(text) as { __type?: unknown }).__type ?? '');
      } catch {
        // Not JSON: the status says enough.
      }
      // The execution of this job already exists: it was started before (a repeated launch).
      if (type.endsWith('ExecutionAlreadyExists')) return { kind: 'accepted' };
      const reason = `${response.status} ${type || response.statusText}`;
      const retry = response.status >= 500 || type.endsWith('ThrottlingException');
      return { kind: retry ? 'retry' : 'rejected', reason };
    });
  }
}
