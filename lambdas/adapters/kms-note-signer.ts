import { GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { ConfigurationError, DependencyError } from '../domain/errors.js';
import { externalSigner, type NoteSigner } from '../domain/tlog/note.js';

/** The DER prefix of an Ed25519 public key in SubjectPublicKeyInfo form (what KMS returns). */
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/**
 * A C2SP note signer whose Ed25519 key lives in KMS (key spec ECC_NIST_EDWARDS25519): KMS signs the
 * note text itself (pure Ed25519, `ED25519_SHA_512` with MessageType RAW), so the signature is the
 * one any Ed25519 note verifier checks. The private key never leaves KMS.
 */
export const kmsNoteSigner = async (client: KMSClient, keyId: string, name: string): Promise<NoteSigner> => {
  const output = await client.send(new GetPublicKeyCommand({ KeyId: keyId }));
  const der = Buffer.from(output.PublicKey ?? new Uint8Array());
  if (
    output.KeySpec !== 'ECC_NIST_EDWARDS25519' ||
    der.length !== SPKI_ED25519_PREFIX.length + 32 ||
    !der.subarray(0, SPKI_ED25519_PREFIX.length).equals(SPKI_ED25519_PREFIX)
  ) {
    throw new ConfigurationError('TLOG_KMS_KEY_ID must name an ECC_NIST_EDWARDS25519 signing key');
  }
  return externalSigner(name, new Uint8Array(der.subarray(SPKI_ED25519_PREFIX.length)), async (message) => {
    const signed = await client.send(
      new SignCommand({
        KeyId: keyId,
        Message: message,
        MessageType: 'RAW',
        SigningAlgorithm: 'ED25519_SHA_512',
      }),
    );
    const signature = signed.Signature;
    if (signature?.length !== 64) throw new DependencyError('KMS returned no Ed25519 signature');
    return signature;
  });
};

export { KMSClient };
