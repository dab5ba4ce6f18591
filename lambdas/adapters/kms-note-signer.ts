import type { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import { ConfigurationError, DependencyError } from '../domain/errors.js';
import { externalSigner, type NoteSigner } from '../domain/tlog/note.js';
import type { BackoffPolicy } from './backoff.js';
import { type AttemptOutcome, awsSigner, signedPost, withRetries } from './signed-aws-post.js';

/** The DER prefix of an Ed25519 public key in SubjectPublicKeyInfo form (what KMS returns). */
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

const KMS_BACKOFF: BackoffPolicy = { maxAttempts: 5, baseDelayMs: 50, maxDelayMs: 1000 };

/** Where the signer finds KMS: the region's endpoint unless `endpoint` is given. */
export interface KmsNoteSignerOptions {
  readonly region: string;
  /** The key (id, ARN or alias) of spec ECC_NIST_EDWARDS25519. */
  readonly keyId: string;
  /** The note signer's name: the log's origin. */
  readonly name: string;
  /** The container's credential chain. */
  readonly credentials: AwsCredentialIdentityProvider;
  readonly endpoint?: string;
  readonly backoff?: BackoffPolicy;
}

/**
 * One KMS call (JSON 1.1 protocol) as a SigV4-signed `fetch` (`signed-aws-post.ts`): the SDK's KMS
 * client would add 27 KB to every bundle that signs or reads the checkpoint key, for two calls.
 * Throttling, server and network errors are retried with jittered backoff; the answer is parsed JSON.
 */
const kmsCall = async (
  signer: SignatureV4,
  endpoint: string,
  action: 'GetPublicKey' | 'Sign',
  request: Record<string, unknown>,
  backoff: BackoffPolicy,
): Promise<Record<string, unknown>> => {
  let answer: Record<string, unknown> = {};
  const headers = { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `TrentService.${action}` };
  const body = JSON.stringify(request);
  await withRetries(
    backoff,
    () =>
      signedPost(
        signer,
        new URL(`${endpoint}/`),
        headers,
        body,
        async (response): Promise<AttemptOutcome> => {
          const text = await response.text().catch(() => '');
          let parsed: Record<string, unknown> = {};
          try {
            parsed = JSON.parse(text) as Record<string, unknown>;
          } catch {
            // Not JSON: the status says enough.
          }
          if (response.status === 200) {
            answer = parsed;
            return { kind: 'accepted' };
          }
          const type = String(parsed.__type ?? '');
          const reason = `${response.status} ${type.split('#').pop() || response.statusText}`;
          const retry =
            response.status >= 500 || /Throttling|LimitExceeded|KMSInternal|DependencyTimeout/.test(type);
          return { kind: retry ? 'retry' : 'rejected', reason };
        },
      ),
    (reason) => `KMS ${action} failed: ${reason}`,
  );
  return answer;
};

/**
 * A C2SP note signer whose Ed25519 key lives in KMS (key spec ECC_NIST_EDWARDS25519): KMS signs the
 * note text itself (pure Ed25519, `ED25519_SHA_512` with MessageType RAW), so the signature is the
 * one any Ed25519 note verifier checks. The private key never leaves KMS.
 */
export const kmsNoteSigner = async (options: KmsNoteSignerOptions): Promise<NoteSigner> => {
  const endpoint = options.endpoint ?? `https://kms.${options.region}.amazonaws.com`;
  const signer = awsSigner('kms', options.region, options.credentials);
  const backoff = options.backoff ?? KMS_BACKOFF;
  const key = await kmsCall(signer, endpoint, 'GetPublicKey', { KeyId: options.keyId }, backoff);
  const der = Buffer.from(String(key.PublicKey ?? ''), 'base64');
  if (
    key.KeySpec !== 'ECC_NIST_EDWARDS25519' ||
    der.length !== SPKI_ED25519_PREFIX.length + 32 ||
    !der.subarray(0, SPKI_ED25519_PREFIX.length).equals(SPKI_ED25519_PREFIX)
  ) {
    throw new ConfigurationError('TLOG_KMS_KEY_ID must name an ECC_NIST_EDWARDS25519 signing key');
  }
  const publicKey = new Uint8Array(der.subarray(SPKI_ED25519_PREFIX.length));
  return externalSigner(options.name, publicKey, async (message) => {
    const signed = await kmsCall(
      signer,
      endpoint,
      'Sign',
      {
        KeyId: options.keyId,
        Message: Buffer.from(message).toString('base64'),
        MessageType: 'RAW',
        SigningAlgorithm: 'ED25519_SHA_512',
      },
      backoff,
    );
    const signature = Buffer.from(String(signed.Signature ?? ''), 'base64');
    if (signature.length !== 64) throw new DependencyError('KMS returned no Ed25519 signature');
    return new Uint8Array(signature);
  });
};
