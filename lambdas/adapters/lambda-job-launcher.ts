import type { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import { ConfigurationError } from '../domain/errors.js';
import type { JobKind, JobLauncher, JobMessage } from '../ports/job-launcher.js';
import type { BackoffPolicy } from './backoff.js';
import { type AttemptOutcome, awsSigner, signedPost, withRetries } from './signed-aws-post.js';

/** Where and how the launcher invokes: the region's Lambda endpoint unless `endpoint` is given. */
export interface LambdaJobLauncherOptions {
  readonly region: string;
  /** Worker function name or ARN per job kind. */
  readonly functions: Readonly<Record<JobKind, string | undefined>>;
  /** The container's credential chain (the DynamoDB client's, so there is one). */
  readonly credentials: AwsCredentialIdentityProvider;
  readonly endpoint?: string;
  readonly backoff?: BackoffPolicy;
}

const LAUNCH_BACKOFF: BackoffPolicy = { maxAttempts: 5, baseDelayMs: 50, maxDelayMs: 1000 };

/**
 * Launches workers with asynchronous Lambda invocations (`InvocationType: Event`; Lambda retries
 * a failed worker itself). This is the one Lambda API call the service makes, so it is a `fetch`
 * signed by the SDK's own SigV4 signer and credential chain (both already in every bundle) rather
 * than the SDK's Lambda client, whose 70 KB of service schemas would otherwise sit in every
 * function that can start a job. Throttling (429), server errors and network
 * errors are retried with jittered backoff; anything else fails the launch with the error type.
 */
export class LambdaJobLauncher implements JobLauncher {
  readonly #options: LambdaJobLauncherOptions;
  readonly #endpoint: string;
  readonly #signer: SignatureV4;

  constructor(options: LambdaJobLauncherOptions) {
    this.#options = options;
    this.#endpoint = options.endpoint ?? `https://lambda.${options.region}.amazonaws.com`;
    this.#signer = awsSigner('lambda', options.region, options.credentials);
  }

  async launch(message: JobMessage): Promise<void> {
    const functionName = this.#options.functions[message.kind];
    if (!functionName)
      throw new ConfigurationError(`No worker function is configured for ${message.kind} jobs`);
    const url = new URL(
      `${this.#endpoint}/2015-03-31/functions/${encodeURIComponent(functionName)}/invocations`,
    );
    const body = JSON.stringify(message);
    await withRetries(
      this.#options.backoff ?? LAUNCH_BACKOFF,
      () => this.#invoke(url, body),
      (reason) => `Could not start the ${message.kind} worker (${functionName}): ${reason}`,
    );
  }

  #invoke(url: URL, body: string): Promise<AttemptOutcome> {
    return signedPost(
      this.#signer,
      url,
      { 'content-type': 'application/json', 'x-amz-invocation-type': 'Event' },
      body,
      async (response) => {
        // The body is small either way; reading it frees the connection.
        await response.arrayBuffer().catch(() => undefined);
        if (response.status === 202) return { kind: 'accepted' };
        const reason = `${response.status} ${response.headers.get('x-amzn-errortype') ?? response.statusText}`;
        return { kind: response.status === 429 || response.status >= 500 ? 'retry' : 'rejected', reason };
      },
    );
  }
}
