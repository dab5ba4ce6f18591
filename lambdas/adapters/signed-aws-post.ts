import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import { DependencyError } from '../domain/errors.js';
import { type BackoffPolicy, backoffDelay } from './backoff.js';

/**
 * One AWS API call made as a `fetch` signed by the SDK's own SigV4 signer and credential chain
 * (both already in every bundle) instead of the service's SDK client, whose schemas would weigh on
 * every bundle that makes the call. The job launchers (Lambda `Invoke`, Step Functions
 * `StartExecution`) are its users.
 */

/** What one attempt came to: done, worth another try, or refused for good. */
export type AttemptOutcome = { kind: 'accepted' } | { kind: 'retry' | 'rejected'; reason: string };

/** A SigV4 signer for `service` in `region`. */
export const awsSigner = (
  service: string,
  region: string,
  credentials: AwsCredentialIdentityProvider,
): SignatureV4 => new SignatureV4({ service, region, credentials, sha256: Sha256 });

/**
 * Signs and sends one POST. A network failure is a `retry` outcome; otherwise the response goes to
 * `judge`. Signed on every attempt: the signature covers the time, and the credentials may have
 * rotated.
 */
export const signedPost = async (
  signer: SignatureV4,
  url: URL,
  headers: Record<string, string>,
  body: string,
  judge: (response: Response) => Promise<AttemptOutcome>,
): Promise<AttemptOutcome> => {
  const signed = await signer.sign({
    method: 'POST',
    protocol: url.protocol,
    hostname: url.hostname,
    ...(url.port ? { port: Number(url.port) } : {}),
    path: url.pathname,
    query: {},
    headers: { host: url.host, ...headers },
    body,
  });
  // fetch sets Host itself (to the same value the signature covers).
  const { host: _host, ...sent } = signed.headers;
  let response: Response;
  try {
    response = await fetch(url, { method: 'POST', headers: sent, body });
  } catch (error) {
    return { kind: 'retry', reason: error instanceof Error ? error.message : String(error) };
  }
  return judge(response);
};

/** Runs `attempt` until it is accepted, refused, or `backoff.maxAttempts` is spent (jittered waits between). */
export const withRetries = async (
  backoff: BackoffPolicy,
  attempt: () => Promise<AttemptOutcome>,
  failure: (reason: string) => string,
): Promise<void> => {
  for (let tries = 1; ; tries += 1) {
    const outcome = await attempt();
    if (outcome.kind === 'accepted') return;
    if (outcome.kind === 'rejected' || tries >= backoff.maxAttempts)
      throw new DependencyError(failure(outcome.reason));
    await backoffDelay(backoff, tries);
  }
};
