import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import type { JobLauncher, JobMessage } from '../ports/job-launcher.js';
import { type BackoffPolicy, backoffDelay } from './backoff.js';

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
    this.#signer = new SignatureV4({
      service: 'states',
      region: options.region,
      credentials: options.credentials,
      sha256: Sha256,
    });
  }

  async launch(message: JobMessage): Promise<void> {
    const stateMachineArn = this.#options.stateMachineArn;
    if (message.kind !== 'export' || !stateMachineArn)
      throw new Error(`No state machine is configured for ${message.kind} jobs`);
    const body = JSON.stringify({
      stateMachineArn,
      name: message.jobId,
      input: JSON.stringify({ tenant: message.tenant, jobId: message.jobId }),
    });
    const backoff = this.#options.backoff ?? START_BACKOFF;
    for (let attempt = 1; ; attempt += 1) {
      const outcome = await this.#start(body);
      if (outcome.kind === 'accepted') return;
      if (outcome.kind === 'rejected' || attempt >= backoff.maxAttempts)
        throw new Error(`Could not start the export state machine: ${outcome.reason}`);
      await backoffDelay(backoff, attempt);
    }
  }

  async #start(body: string): Promise<{ kind: 'accepted' } | { kind: 'retry' | 'rejected'; reason: string }> {
    const url = new URL(`${this.#endpoint}/`);
    const signed = await this.#signer.sign({
      method: 'POST',
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: url.pathname,
      query: {},
      headers: {
        host: url.host,
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': 'AWSStepFunctions.StartExecution',
      },
      body,
    });
    const { host: _host, ...headers } = signed.headers;
    let response: Response;
    try {
      response = await fetch(url, { method: 'POST', headers, body });
    } catch (error) {
      return { kind: 'retry', reason: error instanceof Error ? error.message : String(error) };
    }
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
  }
}
