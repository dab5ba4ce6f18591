import { defaultProvider } from '@aws-sdk/credential-provider-node';
import type { AwsCredentialIdentityProvider } from '@smithy/types';

let provider: AwsCredentialIdentityProvider | undefined;

/**
 * The credentials of the SigV4 calls (Lambda `Invoke`, Step Functions `StartExecution`, KMS
 * `GetPublicKey` and `Sign` for checkpoints): the SDK's default provider chain (in Lambda, the
 * function role's credentials from the environment), one instance per container, of their own
 * rather than borrowed from the DynamoDB client. The SDK clients bundle this chain already, so it
 * costs no bundle bytes.
 */
export const awsCredentials = (): AwsCredentialIdentityProvider => {
  provider ??= defaultProvider();
  return provider;
};
